"""An API key never leaves the environment: notebook 03 runs on smoke with the OpenAI-compatible generator against a
loopback server, a distinctive key in an environment variable, and every file the run wrote is scanned for it."""
import base64
import gzip
import json
import logging

import papermill
import yaml

from conftest import ROOT
from test_cot import Server

KEY = "sk-scan-7Hq2distinctive9Vw4KEY0for1this2test"
NOTEBOOKS = ROOT / "notebooks"


def openai_profile(folder, url, **settings):
    """configs/smoke.yaml with notebook 03's generator switched to the OpenAI-compatible endpoint at `url` (more
    stage2_data `settings` on top)."""
    cfg = yaml.safe_load((ROOT / "configs" / "smoke.yaml").read_text())
    cfg["stage2_data"].update({"generator": "openai", "model": "scan-model", "base_url": url, "api_key_env": "DEAR_SCAN_KEY",
                               "max_concurrency": 2, "max_retries": 0, "temperature": 0.0, **settings})
    folder.mkdir()
    (folder / "smoke.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return cfg


def test_notebook_03_with_an_openai_endpoint_writes_the_key_nowhere(tmp_path, monkeypatch, caplog, capfd):
    server = Server()
    try:
        cfg = openai_profile(tmp_path / "configs", server.url)
        server.script = ["echo"]  # the first request's error repeats its Authorization header, as a careless proxy may
        monkeypatch.setenv("DEAR_CONFIG_DIR", str(tmp_path / "configs"))  # the notebooks' kernels inherit both
        monkeypatch.setenv("DEAR_SCAN_KEY", KEY)
        caplog.set_level(logging.DEBUG)
        (tmp_path / "outputs").mkdir()
        for name in ("01_candidate_retrieval", "03_cot_generation"):
            papermill.execute_notebook(str(NOTEBOOKS / f"{name}.ipynb"), str(tmp_path / "outputs" / f"{name}.ipynb"),
                                       cwd=str(NOTEBOOKS), kernel_name="python3", progress_bar=False, log_output=True,
                                       parameters={"profile": "smoke", "results_dir": str(tmp_path / "results"),
                                                   "artifacts_dir": str(tmp_path / "artifacts")})
    finally:
        server.httpd.shutdown()
    # the run did use the key, on every request
    assert server.auth == {f"Bearer {KEY}"} and len(server.requests) == cfg["stage2_data"]["windows"]
    summary = yaml.safe_load((tmp_path / "artifacts" / "smoke" / "stage2_data" / "summary.json").read_text())
    assert summary["generator"] == "openai:scan-model" and summary["ledger"] == {"ok": 11, "no completion (API error)": 1}
    recorded = json.loads((tmp_path / "results" / "smoke" / "nq" / "bm25.json").read_text())["provenance"]["config"]
    assert recorded["stage2_data"]["api_key_env"] == "DEAR_SCAN_KEY"  # the variable's name, as configured
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.parent != tmp_path / "configs"]
    assert {p.relative_to(tmp_path).parts[0] for p in written} == {"outputs", "results", "artifacts"}  # no figures here
    assert len(written) > 20
    needles = (KEY.encode(), KEY.encode("utf-16-le"), base64.b64encode(KEY.encode()), KEY[len("sk-"):].encode())
    for path in written:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data += gzip.decompress(data)
        assert not any(n in data for n in needles), f"the key is in {path}"
    out, err = capfd.readouterr()
    assert KEY not in caplog.text + out + err  # nor in what papermill logged of the cells' output
