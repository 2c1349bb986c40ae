"""
Model versus brain, through time
================================

An example session whose first units read out a (tiny, random) VideoMAE's activations with a
50 ms delay: the activations are extracted on the session's clock, and the encoding model scores
every unit bin by bin after clip onset.
"""
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

import nwb_it
from nwb_it import CompareParams, ExtractionParams
from nwb_it.examples.random_model import save_random_model
from nwb_it.examples.readout import write_example_with_frames

work = Path(tempfile.mkdtemp())
model = save_random_model(work / "tiny_videomae", "videomae", seed=0)
mat = work / "rec_fixshortvid1_coco.mat"
truth = write_example_with_frames(mat, work / "frames", model, n_units=16, n_clips=24, n_repeats=6)
nwb = nwb_it.run_convert(mat, nwb_it.example_metadata_path(), out_dir=work / "out")
nwb_it.run_reliability(nwb)
nwb_it.run_extract(work / "frames", ExtractionParams(model=str(model)), nwb_paths=[nwb])

# %%
# The encoding model of every unit, and its scores through time.
enc, rsa = nwb_it.run_compare(nwb, CompareParams(units="all"), out_dir=work / "compare")["last"]
print(enc.summary())
print(f"RSA: rho {rsa.rho:.2f} (95% interval {rsa.rho_ci[0]:.2f}..{rsa.rho_ci[1]:.2f}), p {rsa.p_value:.3f}")

plt.figure(figsize=(9, 5))
plt.imshow(plt.imread(work / "compare" / "encoding_time.png"))
plt.axis("off")
