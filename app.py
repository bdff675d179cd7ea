"""Entry point: `python app.py` serves Lite with the settings from the environment."""

from lite.http.server import main

if __name__ == "__main__":
    main()
