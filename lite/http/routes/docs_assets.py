"""The API docs' own files: Swagger UI's script and style, served by this server so that `/docs`
renders with no network beyond it (no CDN). They come from the `swagger-ui-bundle-v2` package."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin, YamlRenderPlugin
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

DOCS_ASSETS_PATH = "/docs-assets"  # not under /docs: the OpenAPI router owns every path there

# The files the docs page loads (the package's folder is Swagger UI's public dist, served as is).
_FILES = ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css")
_FAVICON = "<link rel='icon' href='/static/favicon.svg' type='image/svg+xml'>"

docs_assets_router = create_static_files_router(
    path=DOCS_ASSETS_PATH,
    directories=[Path(str(swagger_ui_path))],  # an installed package: a real folder
    cache_control=CacheControlHeader(max_age=86400),  # versioned by the package: a day is safe
    include_in_schema=False,
    name="docs_assets",
)


def docs_render_plugins() -> list[Any]:
    """Swagger UI at /docs (and /docs/swagger) from the server's own assets, plus the schema files."""
    js, preset, css = (f"{DOCS_ASSETS_PATH}/{name}" for name in _FILES)
    return [
        SwaggerRenderPlugin(
            path=["/", "/swagger"],
            js_url=js,
            standalone_preset_js_url=preset,
            css_url=css,
            favicon=_FAVICON,
        ),
        JsonRenderPlugin(),
        YamlRenderPlugin(),
    ]
