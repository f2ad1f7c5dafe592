"""`faithlab serve`: a local web app over one classifier (and optionally one bench run folder).

Built on the public API (`fl.explain`, `fl.evaluate`) and the `faithlab.report` views; see `app.create_app`.
FastAPI and uvicorn come with the `serve` extra, so nothing here is imported by `faithlab` itself.
"""
