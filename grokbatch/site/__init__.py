"""What grokbatch knows of the site and how it works one post page: the selectors and the
site's words per UI language, the script installed in the page, one video's state machine
(generator.py) and the page's controls around it, the quota, and the look at a page
(preflight.py) that a run and `grokbatch doctor` make.

Kept empty, like `grokbatch.run`: importing a module here imports only what it needs.
"""
