# Lite: one image, one process (Litestar on uvicorn), recordings on a volume or in object storage.
#
#   docker build -t lite .
#   docker run -d --name lite -p 8056:8056 -v lite-data:/data lite
#
# BASE_IMAGE is any Debian-based python:3.11+ "slim" image (python and pip on PATH).
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# The server runs as this unprivileged user; entrypoint.sh starts as root only to give it /data.
ARG LITE_UID=10001
RUN groupadd --gid "${LITE_UID}" lite \
 && useradd --uid "${LITE_UID}" --gid lite --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin lite \
 && command -v setpriv >/dev/null

WORKDIR /app

# Dependencies first, from the project's own pyproject.toml alone, so that editing the code does not
# reinstall them (this layer is rebuilt only when pyproject.toml changes). Every dependency ships
# wheels, so no compiler is installed and none is left behind.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt \
 && rm -f /tmp/requirements.txt

# The server itself: app.py, the lite package and the player page, run from /app.
COPY app.py ./
COPY lite ./lite
COPY static ./static
COPY entrypoint.sh /entrypoint.sh
RUN chmod 0755 /entrypoint.sh && python -m compileall -q /app/lite /app/app.py

ENV STORAGE_BACKEND=local \
    DATA_DIR=/data \
    LOCAL_STORAGE_DIR=/data/recordings \
    HOST=0.0.0.0 \
    PORT=8056 \
    LITE_USER=lite

RUN mkdir -p /data/recordings && chown -R lite:lite /data
VOLUME /data
EXPOSE 8056

# No curl in slim images: python asks /healthz (urlopen raises, so exits 1, on anything but 2xx).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8056'), timeout=4)"]

# Starts as root (see entrypoint.sh: it chowns /data, then drops to the user "lite" with setpriv);
# `docker run --user 10001` or a Kubernetes runAsUser runs it as that user throughout.
ENTRYPOINT ["/entrypoint.sh"]
