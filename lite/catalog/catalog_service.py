"""What the services over the catalog share (recordings, bot uploads, finalize): the settings, and
the catalog with the index and storage under it, kept once instead of in each constructor."""

from __future__ import annotations

from lite.catalog.manifests import Catalog
from lite.config import Settings


class CatalogService:
    def __init__(self, settings: Settings, catalog: Catalog) -> None:
        self.settings = settings
        self.catalog = catalog
        self.index = catalog.index
        self.storage = catalog.storage
        self.replicas = catalog.replicas  # what other replicas may have written (lite.catalog.replicas)
