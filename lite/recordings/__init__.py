"""The recordings service: upload, list, read, download and delete, without HTTP."""
