"""NeuroConv data interface for the lab's ``L2_str`` sessions (optional extra ``neuroconv``).

A lab's own ``NWBConverter`` can include the L2_str source beside its other interfaces::

    from neuroconv import NWBConverter
    from nwb_it.neuroconv import L2StrInterface

    class LabConverter(NWBConverter):
        data_interface_classes = dict(L2Str=L2StrInterface)      # beside the lab's other interfaces

    converter = LabConverter(source_data=dict(L2Str=dict(file_path="rec_fixshortvid1_coco.mat")))
    metadata = converter.get_metadata()
    metadata["Subject"]["age"] = "P7Y"
    converter.run_conversion(nwbfile_path="session.nwb", metadata=metadata)

``run_conversion`` writes the same units, electrodes, trials and source fields as
``nwb-it convert``. nwb_it's electrode and unit settings travel under the metadata key
``L2Str`` (``Ecephys.Device``, ``Ecephys.ElectrodeGroup``, ``Units.resolution``), so they
never collide with other interfaces' ``Ecephys`` sections. The clips shown can be stored as
stimulus templates with ``conversion_options=dict(L2Str=dict(stimuli="MOVIE_DATA",
nwbfile_path="session.nwb"))``.
"""
from __future__ import annotations

from datetime import timezone
from pathlib import Path
from typing import Any

from neuroconv import BaseDataInterface
from neuroconv.utils import DeepDict
from pydantic import FilePath

from .core.errors import NwbItError
from .core.params import DEFAULT_FPS
from .formats.l2str import L2StrSource, SourceLayout
from .steps.stimuli import add_clip_templates

METADATA_KEY = "L2Str"


class L2StrInterface(BaseDataInterface):
    """One MATLAB v7.3 or v5 ``L2_str`` session (spikes of every unit in every clip presentation)."""

    display_name = "L2_str MAT session"
    associated_suffixes = (".mat",)
    info = "The lab's MATLAB struct of onset-aligned spike times per unit, clip and repeat."

    def __init__(self, file_path: FilePath, struct: str = "L2_str", spikes_field: str = "spikes",
                 itemnames_field: str = "itemnames", neuron_id_field: str = "neuron_id",
                 trialnum_field: str = "trialnum", verbose: bool = False):
        super().__init__(verbose=verbose, file_path=file_path, struct=struct, spikes_field=spikes_field,
                         itemnames_field=itemnames_field, neuron_id_field=neuron_id_field,
                         trialnum_field=trialnum_field)
        self.source = L2StrSource(file_path, SourceLayout(struct, spikes_field, itemnames_field, neuron_id_field,
                                                          trialnum_field))

    def get_metadata(self) -> DeepDict:
        metadata = super().get_metadata()
        own = self.source.get_metadata()
        metadata["NWBFile"].update(own["NWBFile"])
        fallback = self.source.session_start_fallback()
        if fallback is not None:                         # the MAT header's date, taken as UTC
            metadata["NWBFile"]["session_start_time"] = fallback[0].replace(tzinfo=timezone.utc)
        metadata["Subject"] = own["Subject"]
        metadata[METADATA_KEY] = {"Ecephys": own["Ecephys"], "Units": own["Units"]}
        return metadata

    def get_metadata_schema(self) -> dict[str, Any]:
        schema = super().get_metadata_schema()
        own = self.source.get_metadata_schema()["properties"]
        schema["properties"].setdefault("Subject", own["Subject"])
        schema["properties"][METADATA_KEY] = {
            "type": "object", "description": "nwb_it's electrode and unit settings for the L2_str source.",
            "properties": {"Ecephys": own["Ecephys"], "Units": own["Units"]}}
        return schema

    def add_to_nwbfile(self, nwbfile, metadata: dict | None = None, stimuli: str | Path | None = None,
                       nwbfile_path: str | Path | None = None, stimuli_fps: float = DEFAULT_FPS,
                       **conversion_options) -> None:
        """Electrodes, units (one session clock), trials (one row per presentation) and the source's fields.

        ``stimuli`` (conversion option; a frames or video folder, with ``nwbfile_path``, the file being
        written, which the templates' paths are relative to) adds ``/stimulus/templates`` and each
        trial's ``stimulus_template``, as ``nwb-it convert --stimuli`` does.
        """
        settings = (metadata or {}).get(METADATA_KEY) or self.get_metadata()[METADATA_KEY]
        self.source.add_to_nwbfile(nwbfile, dict(settings))
        if stimuli is not None:
            if nwbfile_path is None:
                raise NwbItError("`stimuli` needs `nwbfile_path` (the file being written): the templates' paths are "
                                 "relative to it")
            add_clip_templates(nwbfile, stimuli, Path(nwbfile_path), stimuli_fps)
