#!/usr/bin/env bash
# Run the server: installs what it needs into .venv on the first run, then serves on 127.0.0.1:8056.
source "$(dirname "$0")/_env.sh" ""
exec .venv/bin/python app.py "$@"
