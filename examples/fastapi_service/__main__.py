"""``python -m examples.fastapi_service [--port 8000]``: serve the app with uvicorn."""

from __future__ import annotations

import argparse
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description="the odm example customer service")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    try:
        import uvicorn
    except ImportError:
        sys.exit("this needs uvicorn: pip install uvicorn")
    uvicorn.run("examples.fastapi_service.app:app", host=args.host, port=args.port)


if __name__ == "__main__":
    main()
