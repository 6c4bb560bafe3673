"""The web page of `cnncalc serve`: a Starlette app (`app.py`) and its static page (`static/`).

Nothing here is imported when `cnncalc` starts: the app needs the `web` extra (starlette, uvicorn).
"""
