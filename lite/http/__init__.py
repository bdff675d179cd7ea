"""HTTP: the server, the Litestar app, routes, the /raw responder, Range and multipart parsing."""
