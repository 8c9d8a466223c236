#!/usr/bin/env python3
"""A third-party C2PA reader for the interoperability tests: the official Python
bindings (PyPI c2pa-python, installed by scripts/common.sh ensure_c2pa_reader)
read a file and print one JSON summary line. Knows nothing of mpegs beyond
looking up the org.mpegs.bundle assertion by label.

    c2pa-read.py FILE [TRUST_ANCHORS.pem]
"""
import json
import sys

import c2pa


def main():
    path = sys.argv[1]
    settings = {"verify": {"ocsp_fetch": False, "remote_manifest_fetch": False}}
    if len(sys.argv) > 2:
        with open(sys.argv[2]) as f:
            settings["trust"] = {"user_anchors": f.read()}
    mime = "image/png" if path.lower().endswith(".png") else "image/jpeg"
    with open(path, "rb") as f, c2pa.Reader(mime, f, context=c2pa.Context.from_dict(settings)) as r:
        manifest = r.get_active_manifest()
        results = (r.get_validation_results() or {}).get("activeManifest", {})
        actions = []
        for a in manifest["assertions"]:
            if a["label"].startswith("c2pa.actions"):
                for x in a["data"]["actions"]:
                    actions.append([x["action"], x.get("parameters", {}).get("org.mpegs.ffmpeg_filter")])
        bundle = [a["data"] for a in manifest["assertions"] if a["label"] == "org.mpegs.bundle"]
        print(json.dumps({
            "reader": "c2pa-python " + c2pa.__version__ + " / c2pa-rs " + c2pa.sdk_version(),
            "state": r.get_validation_state(),
            "success": [s["code"] for s in results.get("success", [])],
            "failure": [s["code"] for s in results.get("failure", [])],
            "actions": actions,
            "mpegs_bundle_version": bundle[0].get("version") if bundle else None,
            "ingredients": [i.get("title") for i in manifest.get("ingredients", [])],
        }))


if __name__ == "__main__":
    main()
