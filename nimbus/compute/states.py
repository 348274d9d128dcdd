"""Nova's three instance states and the ``status`` users see, derived from them.

``vm_state`` is where an instance rests, ``task_state`` what is being done to it
(None when nothing), ``power_state`` what the hypervisor last said. The API shows one
``status`` computed from the first two exactly as nova.api.openstack.common does, so
that clients polling for ACTIVE/SHUTOFF/VERIFY_RESIZE behave as against Nova.
"""

from __future__ import annotations

# --- vm_state -------------------------------------------------------------------------
ACTIVE = "active"
BUILDING = "building"
PAUSED = "paused"
SUSPENDED = "suspended"
STOPPED = "stopped"
RESCUED = "rescued"
RESIZED = "resized"
SOFT_DELETED = "soft-delete"
DELETED = "deleted"
ERROR = "error"
SHELVED = "shelved"
SHELVED_OFFLOADED = "shelved_offloaded"

ALLOW_SOFT_REBOOT = (ACTIVE,)
ALLOW_HARD_REBOOT = (ACTIVE, STOPPED, PAUSED, SUSPENDED, ERROR)

# --- task_state -----------------------------------------------------------------------
SCHEDULING = "scheduling"
BLOCK_DEVICE_MAPPING = "block_device_mapping"
NETWORKING = "networking"
SPAWNING = "spawning"
IMAGE_SNAPSHOT = "image_snapshot"
IMAGE_SNAPSHOT_PENDING = "image_snapshot_pending"
IMAGE_BACKUP = "image_backup"
IMAGE_PENDING_UPLOAD = "image_pending_upload"
IMAGE_UPLOADING = "image_uploading"
UPDATING_PASSWORD = "updating_password"
RESIZE_PREP = "resize_prep"
RESIZE_MIGRATING = "resize_migrating"
RESIZE_MIGRATED = "resize_migrated"
RESIZE_FINISH = "resize_finish"
RESIZE_REVERTING = "resize_reverting"
RESIZE_CONFIRMING = "resize_confirming"
REBOOTING = "rebooting"
REBOOT_PENDING = "reboot_pending"
REBOOT_STARTED = "reboot_started"
REBOOTING_HARD = "rebooting_hard"
REBOOT_PENDING_HARD = "reboot_pending_hard"
REBOOT_STARTED_HARD = "reboot_started_hard"
PAUSING = "pausing"
UNPAUSING = "unpausing"
SUSPENDING = "suspending"
RESUMING = "resuming"
POWERING_OFF = "powering-off"
POWERING_ON = "powering-on"
REBUILDING = "rebuilding"
REBUILD_BLOCK_DEVICE_MAPPING = "rebuild_block_device_mapping"
REBUILD_SPAWNING = "rebuild_spawning"
MIGRATING = "migrating"
DELETING = "deleting"
SHELVING = "shelving"
SHELVING_OFFLOADING = "shelving_offloading"
UNSHELVING = "unshelving"
RESCUING = "rescuing"
UNRESCUING = "unrescuing"

#: Task states a hard reboot may interrupt (nova's task_states.ALLOW_REBOOT).
ALLOW_REBOOT = (
    None,
    REBOOTING,
    REBOOT_PENDING,
    REBOOT_STARTED,
    RESUMING,
    REBOOTING_HARD,
    UNPAUSING,
    PAUSING,
    SUSPENDING,
)

# --- power_state (the hypervisor's view; integers as Nova stores them) ------------------
NOSTATE = 0
RUNNING = 1
POWER_PAUSED = 3
SHUTDOWN = 4
CRASHED = 6
POWER_SUSPENDED = 7

_REBOOT = {REBOOTING: "REBOOT", REBOOT_PENDING: "REBOOT", REBOOT_STARTED: "REBOOT"}
_HARD_REBOOT = {
    REBOOTING_HARD: "HARD_REBOOT",
    REBOOT_PENDING_HARD: "HARD_REBOOT",
    REBOOT_STARTED_HARD: "HARD_REBOOT",
}
_REBUILD = {
    REBUILDING: "REBUILD",
    REBUILD_BLOCK_DEVICE_MAPPING: "REBUILD",
    REBUILD_SPAWNING: "REBUILD",
}
_RESIZE = {
    RESIZE_PREP: "RESIZE",
    RESIZE_MIGRATING: "RESIZE",
    RESIZE_MIGRATED: "RESIZE",
    RESIZE_FINISH: "RESIZE",
}

#: vm_state → {task_state: status, "default": status} (nova.api.openstack.common).
_STATE_MAP: dict[str, dict[str | None, str]] = {
    ACTIVE: {
        "default": "ACTIVE",
        **_REBOOT,
        **_HARD_REBOOT,
        UPDATING_PASSWORD: "PASSWORD",
        **_REBUILD,
        MIGRATING: "MIGRATING",
        **_RESIZE,
    },
    BUILDING: {"default": "BUILD"},
    STOPPED: {"default": "SHUTOFF", **_RESIZE, **_REBUILD},
    RESIZED: {"default": "VERIFY_RESIZE", RESIZE_REVERTING: "REVERT_RESIZE"},
    PAUSED: {"default": "PAUSED", MIGRATING: "MIGRATING"},
    SUSPENDED: {"default": "SUSPENDED"},
    RESCUED: {"default": "RESCUE"},
    ERROR: {"default": "ERROR", **_REBUILD},
    DELETED: {"default": "DELETED"},
    SOFT_DELETED: {"default": "SOFT_DELETED"},
    SHELVED: {"default": "SHELVED"},
    SHELVED_OFFLOADED: {"default": "SHELVED_OFFLOADED"},
}

#: Statuses whose server body carries ``fault`` and ``progress`` (nova's view builder).
FAULT_STATUSES = frozenset({"ERROR", "DELETED"})
PROGRESS_STATUSES = frozenset(
    {"ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING"}
)


def status_of(vm_state: str, task_state: str | None, deleted: bool = False) -> str:
    """The API ``status`` of an instance (UNKNOWN for a state Nova does not know)."""
    if deleted:
        return "DELETED"
    tasks = _STATE_MAP.get(vm_state)
    if tasks is None:
        return "UNKNOWN"
    return tasks.get(task_state, tasks["default"])


def states_for_status(statuses: list[str]) -> tuple[set[str], set[str] | None]:
    """What a ``status`` filter selects: (vm_states, task_states or None).

    As Nova's task_and_vm_state_from_status and its use in the servers list: the task
    state only narrows the filter when no status asked for is a vm_state's default
    (REBOOT selects active servers that are rebooting; ACTIVE selects every active
    server, whatever it is doing).
    """
    wanted = {s.upper() for s in statuses}
    vm_states: set[str] = set()
    task_states: set[str] = set()
    any_task = False
    for vm_state, tasks in _STATE_MAP.items():
        for task_state, status in tasks.items():
            if status in wanted:
                vm_states.add(vm_state)
                if task_state == "default":
                    any_task = True
                else:
                    task_states.add(task_state)
    return vm_states, (None if any_task else task_states)
