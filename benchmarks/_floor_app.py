"""The practical floor for serving: a bare Starlette endpoint calling the same pipeline.

No validation, no logging, no batching: orjson in, DataFrame, predict and
predict_proba (werft returns both), orjson out. Run with uvicorn, one worker;
``FLOOR_MODEL`` names a skops file of the pipeline.
"""

from __future__ import annotations

import os

import orjson
import pandas as pd
import skops.io as sio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_PATH = os.environ["FLOOR_MODEL"]
PIPELINE = sio.load(_PATH, trusted=sio.get_untrusted_types(file=_PATH))


async def predict(request: Request) -> Response:
    frame = pd.DataFrame(orjson.loads(await request.body())["rows"])
    body = {
        "predictions": PIPELINE.predict(frame).tolist(),
        "probabilities": PIPELINE.predict_proba(frame).tolist(),
    }
    return Response(orjson.dumps(body), media_type="application/json")


async def health(_request: Request) -> Response:
    return Response(b"ok")


app = Starlette(routes=[Route("/predict", predict, methods=["POST"]), Route("/health", health)])
