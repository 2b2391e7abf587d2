"""One clear message, instead of a stack trace, when something needs the network and there is none.

The `paper` profile downloads models (the Hugging Face hub) and prebuilt indexes (pyserini). Before it does,
`require_network` checks that the host answers; set ``DEAR_OFFLINE=1`` (or ``HF_HUB_OFFLINE=1``) to say up front
that there is no network. It does not download anything itself.
"""
from __future__ import annotations

import os
import socket


class OfflineError(RuntimeError):
    pass


def require_network(what: str, needs: str = "", host: str = "huggingface.co") -> None:
    offline = os.environ.get("DEAR_OFFLINE") == "1" or os.environ.get("HF_HUB_OFFLINE") == "1"
    if not offline:
        try:
            socket.create_connection((host, 443), timeout=5).close()
            return
        except OSError:
            pass
    raise OfflineError(
        f"{what} must be downloaded, and {host} cannot be reached"
        + (" (DEAR_OFFLINE or HF_HUB_OFFLINE is set)" if offline else "")
        + f". It needs network access{', ' + needs if needs else ''}. Offline, use the `mini` or `smoke` profile."
    )
