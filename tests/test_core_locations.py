"""Locations as shown or stored: a URL's credentials and signed query never survive redaction."""
from __future__ import annotations

import pytest

from nwb_it.core.errors import NwbItError
from nwb_it.core.locations import location_stem, redact_location, redact_text

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies
_SAFE = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=3, max_size=12)


@hypothesis.settings(max_examples=200, deadline=None)
@hypothesis.given(user=_SAFE, password=_SAFE, host=_SAFE, path=_SAFE, secret=_SAFE,
                  port=st.one_of(st.none(), st.integers(1, 65535)), scheme=st.sampled_from(["http", "https", "s3"]))
def test_no_credential_or_query_survives_property(user, password, host, path, secret, port, scheme):
    user, password, secret = f"usr{user}x", f"pwd{password}x", f"sig{secret}x"       # never part of host or port
    netloc = f"{host}.org" + (f":{port}" if port else "")
    url = f"{scheme}://{user}:{password}@{netloc}/{path}.nwb?X-Amz-Signature={secret}&token={secret}#FRAG"
    shown = redact_location(url)
    assert shown == f"{scheme}://{netloc}/{path}.nwb"
    said = redact_text(f"cannot read {url}: timed out")
    for leak in (user, password, secret, "Signature", "FRAG"):
        assert leak not in said
    assert redact_text(said) == said, "idempotent"
    assert str(NwbItError("timed out", url)).startswith(shown)
    assert location_stem(url) == path


def test_paths_dandi_assets_and_plain_urls_are_kept_as_written():
    for text in ("/data/ses-1.nwb", "DANDI:000123/sub-x/sub-x_ses-1.nwb", "https://host:8443/a/b.nwb",
                 "tcp://HOST:PORT (or tls://, ws://, wss://)"):
        assert redact_text(text) == text
