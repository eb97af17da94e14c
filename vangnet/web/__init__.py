"""The web pages: server-rendered Dutch pages for people, beside the API under `/v1`.

Pages are plain HTML forms (FastAPI + jinja2 templates from `forms/pages/`) that work without
JavaScript and are styled with the NL Design System CSS of the Rijkshuisstijl community. They
use the same core as the API: the claim validation, the engine workers, the store, the
accounts. `vangnet.web.mount.install_pages` adds them to the root application.
"""

__all__: list[str] = []
