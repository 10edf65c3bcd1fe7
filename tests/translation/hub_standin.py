"""A local stand-in of the Hugging Face Hub: the few endpoints `snapshot_download` calls.

Read from huggingface_hub's own code (_snapshot_download.py, hf_api.py, file_download.py):

- `GET  /api/models/{repo}/revision/{rev}`: the repo's info, when the revision is a branch
  (its `sha` is the commit the rest of the download is pinned to);
- `GET  /api/models/{repo}/tree/{commit}?recursive=True`: the file list (`type`, `path`,
  `size`, `oid`), one page (no `Link: next` header);
- `HEAD /{repo}/resolve/{commit}/{path}`: the file's metadata (`X-Repo-Commit`, `ETag`,
  `Content-Length`);
- `GET  /{repo}/resolve/{commit}/{path}`: the file.

An unknown repo or revision answers 404 with the `X-Error-Code` the Hub sends. Each repo is a
local directory served as one commit on its `main` branch.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Repo:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files = {p.relative_to(directory).as_posix(): p for p in sorted(directory.rglob("*")) if p.is_file()}
        digest = hashlib.sha1()
        for name, path in self.files.items():
            digest.update(name.encode() + b"\0" + path.read_bytes())
        self.commit = digest.hexdigest()

    def resolve(self, revision: str) -> str | None:
        return self.commit if revision in ("main", self.commit) else None


class HubStandIn:
    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.requests: list[str] = []
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                stand_in._serve(self, body=False)

            def do_GET(self) -> None:
                stand_in._serve(self, body=True)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, repo_id: str, directory: Path) -> str:
        """Serve a directory as `repo_id`; returns its commit."""
        self.repos[repo_id] = Repo(directory)
        return self.repos[repo_id].commit

    def _serve(self, handler: http.server.BaseHTTPRequestHandler, *, body: bool) -> None:
        url = urllib.parse.urlsplit(handler.path)
        path = urllib.parse.unquote(url.path)
        self.requests.append(f"{handler.command} {path}")
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "models"] and len(parts) >= 6:
            repo_id, kind, revision = "/".join(parts[2:4]), parts[4], parts[5]
            repo = self.repos.get(repo_id)
            if repo is None:
                return self._error(handler, 404, "RepoNotFound")
            commit = repo.resolve(revision)
            if commit is None:
                return self._error(handler, 404, "RevisionNotFound")
            if kind == "revision":
                info = {
                    "id": repo_id,
                    "modelId": repo_id,
                    "sha": commit,
                    "private": False,
                    "siblings": [{"rfilename": name} for name in repo.files],
                }
                return self._json(handler, info)
            if kind == "tree":
                entries = [
                    {
                        "type": "file",
                        "path": name,
                        "size": p.stat().st_size,
                        "oid": hashlib.sha1(p.read_bytes()).hexdigest(),
                    }
                    for name, p in repo.files.items()
                ]
                return self._json(handler, entries)
        if len(parts) >= 5 and parts[2] == "resolve":
            repo = self.repos.get("/".join(parts[:2]))
            if repo is None:
                return self._error(handler, 404, "RepoNotFound")
            commit = repo.resolve(parts[3])
            if commit is None:
                return self._error(handler, 404, "RevisionNotFound")
            file = repo.files.get("/".join(parts[4:]))
            if file is None:
                return self._error(handler, 404, "EntryNotFound")
            data = file.read_bytes()
            handler.send_response(200)
            handler.send_header("X-Repo-Commit", commit)
            handler.send_header("ETag", f'"{hashlib.sha1(data).hexdigest()}"')
            handler.send_header("Content-Length", str(len(data)))
            handler.send_header("Content-Type", "application/octet-stream")
            handler.end_headers()
            if body:
                handler.wfile.write(data)
            return None
        return self._error(handler, 404, "EntryNotFound")

    @staticmethod
    def _json(handler: http.server.BaseHTTPRequestHandler, value: object) -> None:
        data = json.dumps(value).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)

    @staticmethod
    def _error(handler: http.server.BaseHTTPRequestHandler, status: int, code: str) -> None:
        data = json.dumps({"error": code}).encode()
        handler.send_response(status)
        handler.send_header("X-Error-Code", code)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)

    @contextmanager
    def running(self) -> Iterator[HubStandIn]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
