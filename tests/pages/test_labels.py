from models.enums import SimulationFormat
from pages.components.labels import enum_label, enum_options


def test_enum_values_read_as_words_with_acronyms_in_capitals():
    assert enum_label("ai_adaptive") == "AI adaptive"
    assert enum_label("unreal_3d") == "Unreal 3D"
    assert enum_label("in_progress") == "In progress"
    assert enum_options(SimulationFormat)["unity_3d"] == "Unity 3D"
