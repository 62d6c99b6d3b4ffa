"""What a generation request asks for, read from either request body the simulator accepts.

- The classic page (and tests) send a flat body:
  ``{"postId", "prompt", "videoLength", "resolutionName"?, "mode"?}``.
- The 2026 page sends the shape the real site used in spring 2026:
  ``{"temporary", "modelName", "message": "<prompt> --mode=<mode>", "enableSideBySide",
  "responseMetadata": {"modelConfigOverride": {"modelMap": {"videoGenModelConfig":
  {"parentPostId", "aspectRatio", "videoLength", "resolutionName"}}}}}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from grokbatch.simulator.scenario import normalize_resolution, normalize_video_length

# Modes the real stream reports; "custom" is what a typed prompt makes of "normal".
MODES = ("normal", "custom", "fun", "spicy")
_MODE_FLAG_RE = re.compile(r"\s*--mode=([a-z]+)\s*$")
POST_ID_RE = re.compile(r"^[A-Za-z0-9-]{1,64}$")


@dataclass(frozen=True)
class GenerationRequest:
    """The fields of a generation request the simulator acts on."""

    post_id: str
    prompt: str
    length_s: int
    resolution: str
    mode: str


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _model_config(body: dict[str, Any]) -> dict[str, Any]:
    metadata = _dict(body.get("responseMetadata"))
    override = _dict(metadata.get("modelConfigOverride"))
    return _dict(_dict(override.get("modelMap")).get("videoGenModelConfig"))


def _prompt_and_mode(body: dict[str, Any]) -> tuple[str, str]:
    if "message" in body:
        message = str(body.get("message") or "")
        match = _MODE_FLAG_RE.search(message)
        mode = match.group(1) if match else "normal"
        prompt = message[: match.start()] if match else message
    else:
        prompt = str(body.get("prompt") or "")
        mode = str(body.get("mode") or "normal")
    prompt = prompt.strip()
    if mode not in MODES:
        mode = "normal"
    if mode == "normal" and prompt:
        mode = "custom"
    return prompt, mode


def parse_generation_request(body: dict[str, Any]) -> GenerationRequest:
    """Read a request body of either shape; missing or odd values get defaults.

    The post id is returned as sent (possibly empty): the caller rejects a bad one.
    """
    config = _model_config(body)
    post_id = str(config.get("parentPostId") or body.get("postId") or "")
    length = config.get("videoLength", body.get("videoLength"))
    resolution = config.get("resolutionName", body.get("resolutionName"))
    prompt, mode = _prompt_and_mode(body)
    return GenerationRequest(
        post_id=post_id,
        prompt=prompt,
        length_s=normalize_video_length(length),
        resolution=normalize_resolution(resolution),
        mode=mode,
    )
