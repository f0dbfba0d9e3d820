"""Demo step 8: add snapshot and timestamp with the online key, as the
repository would, then let python-tuf's ngclient refresh from 1.root.json.

Usage: client_check.py REPO_DIR ONLINE_PRIVATE_PEM ONLINE_PUBLIC_JSON
(the online key's passphrase is read as one line from stdin)
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner
from tuf.api.exceptions import DownloadHTTPError
from tuf.api.metadata import Metadata, MetaFile, Snapshot, Timestamp
from tuf.ngclient import Updater
from tuf.ngclient.fetcher import FetcherInterface

from tuf_ceremony.keys import load_public_key


def main() -> None:
    repo, priv_path, pub_path = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    passphrase = sys.stdin.readline().rstrip("\n").encode()
    signer = CryptoSigner(load_pem_private_key(priv_path.read_bytes(), passphrase), load_public_key(pub_path))
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    snapshot = Metadata(Snapshot(version=1, expires=expires, meta={"targets.json": MetaFile(version=1)}))
    snapshot.sign(signer)
    snapshot.to_file(str(repo / "1.snapshot.json"))
    timestamp = Metadata(Timestamp(version=1, expires=expires, snapshot_meta=MetaFile(version=1)))
    timestamp.sign(signer)
    timestamp.to_file(str(repo / "timestamp.json"))
    print(f"online key signed {repo}/1.snapshot.json and {repo}/timestamp.json")

    class DirFetcher(FetcherInterface):
        def _fetch(self, url: str) -> Iterator[bytes]:
            path = repo / url.rsplit("/", 1)[-1]
            if not path.is_file():
                raise DownloadHTTPError(f"{path.name} not found", 404)
            yield path.read_bytes()

    with tempfile.TemporaryDirectory() as client_dir:
        updater = Updater(
            client_dir,
            "https://repository.invalid/metadata/",
            fetcher=DirFetcher(),
            bootstrap=(repo / "1.root.json").read_bytes(),
        )
        updater.refresh()
        trusted = Metadata.from_file(str(Path(client_dir) / "root.json"))
    print(
        f"python-tuf ngclient refreshed: trusts root v{trusted.signed.version}, timestamp v1, snapshot v1, targets v1"
    )


if __name__ == "__main__":
    main()
