"""dlteach.widgets.live: what every live widget shares."""

import ipywidgets as widgets

from dlteach.widgets import live


def test_live_view_shows_each_control_label_whole_and_keeps_a_width_set_on_purpose():
    controls = {"momentum": widgets.FloatSlider(description="momentum mu"),
                "lr": widgets.FloatSlider(description="eta", style={"description_width": "4em"})}
    image, caption, refresh = live.live_view(lambda momentum, lr: b"\x89PNG", controls)
    assert controls["momentum"].style.description_width == "initial"    # ipywidgets' default would cut it
    assert controls["lr"].style.description_width == "4em"
    assert image.value == b"\x89PNG" and caption is None
