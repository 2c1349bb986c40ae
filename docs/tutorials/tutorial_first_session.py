"""
A first session: convert, find the responsive units, look at them
=================================================================

An example session (a MATLAB v7.3 file shaped like the lab's ``L2_str``) is converted into a
DANDI-layout NWB file, every unit's split-half reliability is computed and stored in it, and the
responsive units' firing-rate heatmaps are drawn from the file.
"""
import tempfile
from pathlib import Path

import nwb_it
from nwb_it import HeatmapParams, ReliabilityParams

work = Path(tempfile.mkdtemp())
truth = nwb_it.write_example_session(work / "rec_fixshortvid1_coco.mat", n_units=16, n_clips=20, n_repeats=6)
nwb = nwb_it.run_convert(work / "rec_fixshortvid1_coco.mat", nwb_it.example_metadata_path(), out_dir=work / "out")
print(nwb.relative_to(work))

# %%
# Reliability: d' of every unit against a re-dealt null, and a permutation p-value.
result = nwb_it.run_reliability(nwb, ReliabilityParams(n_perm=50))
found = result.responsive
print(f"{int(found.sum())} responsive of {found.size}; made responsive: {int(truth.responsive.sum())}, "
      f"found among them: {int((found & truth.responsive).sum())}")
print(result.to_dataframe()[["unit_name", "dprime", "p_value", "q_value", "n_deals"]].head())

# %%
# The heatmaps come from the file alone; here the population heatmap is shown.
from nwb_it.steps import draw_heatmaps, read_heatmap_data  # noqa: E402

data = read_heatmap_data(nwb, HeatmapParams(units="responsive"))
paths = draw_heatmaps(data, work / "figures", HeatmapParams())
print(len(paths), "figures")

import matplotlib.pyplot as plt  # noqa: E402

image = plt.imread(work / "figures" / "population.png")      # what nwb-it heatmaps wrote
plt.figure(figsize=(9, 6))
plt.imshow(image)
plt.axis("off")
