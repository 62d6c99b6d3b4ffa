"""The generation stream as captured from the real site (``--stream-format captured``).

About twenty JSON objects in the real order: ``result.conversation``; ``result.response``
objects carrying ``userResponse``, two ``progressReport``, ``queryAction`` and
``imageAttachmentInfo``; about ten ``streamingVideoGenerationResponse`` (progress 1 … 100,
one series per video); then ``token``, ``modelResponse`` and ``result.title``. Field names
and order follow public captures (GVP-Bridge-Desktop: api-examples/new-response-*.json).
"""

from __future__ import annotations

import uuid
from typing import Any

from grokbatch.simulator.quota import rfc3339
from grokbatch.simulator.scenario import ScriptedOutcome
from grokbatch.simulator.state import GenerationTicket, VideoSlot
from grokbatch.simulator.streams import (
    GENERATION_ERROR_LINE,
    Finish,
    Line,
    Pause,
    Record,
    StreamEvent,
    resolution_notice,
)
from grokbatch.simulator.urls import THUMBNAIL_NAME, relative_asset

MODEL_NAME = "imagine-video-gen"
# Frame size per resolution for the simulator's square images (560 is what a captured
# 480p square video reported; the 720p figure scales it).
_SIZES = {"480p": 560, "720p": 840}


def _response(body: dict[str, Any], response_id: str, soft_stop: bool = False) -> dict[str, Any]:
    return {
        "result": {
            "response": {
                **body,
                "isThinking": False,
                "isSoftStop": soft_stop,
                "responseId": response_id,
            }
        }
    }


def _message(ticket: GenerationTicket, image_url: str) -> str:
    words = [image_url, ticket.prompt] if ticket.prompt else [image_url]
    return " ".join([*words, f"--mode={ticket.mode}"])


def _model_config(ticket: GenerationTicket) -> dict[str, Any]:
    return {
        "aspectRatio": "1:1",
        "isVideoEdit": False,
        "isVideoExtension": False,
        "parentPostId": ticket.post_id,
        "resolutionName": ticket.resolution,
        "videoLength": ticket.length_s,
    }


def _user_response(ticket: GenerationTicket, image_url: str, rid: str, now: str) -> dict[str, Any]:
    user = {
        "responseId": rid,
        "message": _message(ticket, image_url),
        "sender": "human",
        "createTime": now,
        "manual": False,
        "partial": False,
        "shared": False,
        "query": "",
        "queryType": "",
        "fileAttachments": [ticket.image_post_id],
        "metadata": {
            "experiments": [],
            "modelConfigOverride": {"modelMap": {"videoGenModelConfig": _model_config(ticket)}},
        },
        "model": MODEL_NAME,
        "streamErrors": [],
    }
    return _response({"userResponse": user}, rid)


def _progress_report(finished: bool, rid: str) -> dict[str, Any]:
    """The attachment pre-processing report: pending, then success."""
    report = {
        "category": "PROGRESS_REPORT_CATEGORY_ATTACHMENTS_PREPROCESSING",
        "state": "PROGRESS_REPORT_STATUS_SUCCESS" if finished else "PROGRESS_REPORT_STATUS_PENDING",
        "message": f"{'Finished' if finished else 'Started'} pre-processing attachments",
    }
    return _response({"progressReport": report}, rid)


def video_object(
    ticket: GenerationTicket,
    slot: VideoSlot,
    progress: int,
    image_url: str,
    moderated: bool = False,
    response_id: str = "",
) -> dict[str, Any]:
    """One ``streamingVideoGenerationResponse``; a good video's 100 names its files."""
    done = progress == 100 and not moderated and ticket.plan.outcome is ScriptedOutcome.COMPLETED
    body: dict[str, Any] = {"videoId": slot.video_id, "progress": progress}
    if done:
        body["assetId"] = slot.video_id
        body["videoUrl"] = relative_asset(ticket.session_id, slot.video_id)
    body |= {
        "audioUrls": [],
        "videoPrompt": ticket.prompt,
        "imageReference": image_url,
        "audioTranscripts": [],
        "moderated": moderated,
        "mode": ticket.mode,
        "modelName": MODEL_NAME,
    }
    if done:
        body["thumbnailImageUrl"] = relative_asset(ticket.session_id, slot.video_id, THUMBNAIL_NAME)
    body |= {"parentPostId": ticket.post_id, "videoPostId": slot.video_post_id}
    if len(ticket.slots) > 1:
        body["sideBySideIndex"] = slot.side_by_side_index
    if done:
        body["rRated"] = False
    size = _SIZES.get(ticket.resolution, _SIZES["480p"])
    body |= {"height": size, "width": size, "resolutionName": ticket.resolution}
    return _response({"streamingVideoGenerationResponse": body}, response_id)


def _closing(ticket: GenerationTicket, user_rid: str, rid: str, now: str) -> list[StreamEvent]:
    said = "I generated a video"
    if ticket.prompt:
        said += f" with the prompt: '{ticket.prompt}'"
    model = {
        "responseId": rid,
        "message": said,
        "sender": "ASSISTANT",
        "createTime": now,
        "parentResponseId": user_rid,
        "manual": False,
        "partial": False,
        "shared": False,
        "query": "",
        "queryType": "imagine",
        "fileAttachments": [s.video_id for s in ticket.slots],
        "model": MODEL_NAME,
        "streamErrors": [],
    }
    title = ticket.prompt[:60] or "Video from an image"
    return [
        Line(_response({"token": said}, rid, soft_stop=True)),
        Line(_response({"modelResponse": model}, rid)),
        Line({"result": {"title": {"newTitle": title}}}),
    ]


def captured_events(
    ticket: GenerationTicket, interval_s: float, image_url: str, now: float
) -> list[StreamEvent]:
    """The whole stream of one generation; ``now`` stamps the create times."""
    stamp = rfc3339(now)
    user_rid, rid = str(uuid.uuid4()), str(uuid.uuid4())
    conversation = {
        "conversationId": str(uuid.uuid4()),
        "title": "New conversation",
        "starred": False,
        "createTime": stamp,
        "modifyTime": stamp,
        "systemPromptName": "",
        "temporary": True,
        "mediaTypes": [],
        "workspaces": [],
        "taskResult": None,
    }
    events: list[StreamEvent] = [
        Line({"result": {"conversation": conversation}}),
        Line(_user_response(ticket, image_url, user_rid, stamp)),
        Line(_progress_report(False, rid)),
        Line(_progress_report(True, rid)),
    ]
    if ticket.plan.info_toast:
        events.append(Line(resolution_notice()))
    events += [
        Line(_response({"queryAction": {"query": "", "type": "imagine"}}, rid)),
        Line(_response({"imageAttachmentInfo": {"imageAttachmentCount": 1}}, rid)),
    ]
    outcome = ticket.plan.outcome
    steps = ticket.plan.captured_steps()
    for i, progress in enumerate(steps):
        if i:
            events.append(Pause(interval_s))
        last = i == len(steps) - 1
        if last:
            events.append(Record())
        moderated = last and outcome is ScriptedOutcome.MODERATED
        events += [
            Line(video_object(ticket, slot, progress, image_url, moderated, rid))
            for slot in ticket.slots
        ]
    if outcome in (ScriptedOutcome.COMPLETED, ScriptedOutcome.MODERATED):
        return [*events, *_closing(ticket, user_rid, rid, stamp), Finish("end")]
    if outcome is ScriptedOutcome.GENERATION_ERROR:
        return [*events, Line(GENERATION_ERROR_LINE), Finish("end")]
    if outcome is ScriptedOutcome.NETWORK_ERROR:
        return [*events, Pause(interval_s), Finish("drop")]
    return [*events, Finish("hold")]
