"""Staff editing of configs: typed spec fields, derived counts that follow, import/export and history.

A module per concern (``configs``: ModelConfigAdmin, its changelist, change form and save, registered here;
``actions``, ``imports``, ``history``: the parts it is made of; ``layer_types``: the inline and the class
filter; ``plan_panel``: the change page's Plan panel; ``devices``: the device catalogue's admin; ``pages``: the
context of the registry's own pages and the history with restore both admins share; ``display``: how counts and
ids are written). Django's
autodiscover imports this package, which registers the admin; the names callers use are importable from here.
"""

from __future__ import annotations

from registry.admin.configs import ModelConfigAdmin, StaleSave
from registry.admin.devices import DeviceAdmin
from registry.admin.display import about, params
from registry.admin.layer_types import LayerClassFilter, LayerTypeInline
from registry.admin.plan_panel import CHART_DEFAULT_CONTEXT, byte_size, chart_contexts, plan_panel

__all__ = [
    "CHART_DEFAULT_CONTEXT",
    "DeviceAdmin",
    "LayerClassFilter",
    "LayerTypeInline",
    "ModelConfigAdmin",
    "StaleSave",
    "about",
    "byte_size",
    "chart_contexts",
    "params",
    "plan_panel",
]
