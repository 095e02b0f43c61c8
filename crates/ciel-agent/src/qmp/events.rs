//! The asynchronous events QEMU sends on a QMP connection, typed for the ones the agent cares
//! about; any other arrives as [`Event::Other`] with its data.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// QEMU is shutting down (`guest`: the guest asked; `reason`: e.g. `host-qmp-quit`).
    Shutdown {
        guest: bool,
        reason: String,
    },
    /// The power button was pressed (`system_powerdown`).
    Powerdown,
    /// The guest was reset.
    Reset {
        guest: bool,
        reason: String,
    },
    /// The guest's CPUs stopped.
    Stop,
    /// The guest's CPUs run again.
    Resume,
    /// A device was removed; `device` is its id, if it had one.
    DeviceDeleted {
        device: Option<String>,
        path: String,
    },
    Other {
        name: String,
        data: Value,
    },
}

#[derive(Deserialize)]
struct ShutdownData {
    #[serde(default)]
    guest: bool,
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize)]
struct DeviceDeletedData {
    #[serde(default)]
    device: Option<String>,
    #[serde(default)]
    path: String,
}

impl Event {
    /// The event named `name` with `data` (`Other` when the data is not what QEMU documents).
    pub fn parse(name: &str, data: Value) -> Self {
        let typed = match name {
            "SHUTDOWN" => serde_json::from_value::<ShutdownData>(data.clone())
                .ok()
                .map(|d| Event::Shutdown {
                    guest: d.guest,
                    reason: d.reason,
                }),
            "RESET" => serde_json::from_value::<ShutdownData>(data.clone())
                .ok()
                .map(|d| Event::Reset {
                    guest: d.guest,
                    reason: d.reason,
                }),
            "POWERDOWN" => Some(Event::Powerdown),
            "STOP" => Some(Event::Stop),
            "RESUME" => Some(Event::Resume),
            "DEVICE_DELETED" => {
                serde_json::from_value::<DeviceDeletedData>(data.clone())
                    .ok()
                    .map(|d| Event::DeviceDeleted {
                        device: d.device,
                        path: d.path,
                    })
            }
            _ => None,
        };
        typed.unwrap_or_else(|| Event::Other {
            name: name.to_string(),
            data,
        })
    }

    /// The event's name on the wire.
    pub fn name(&self) -> &str {
        match self {
            Event::Shutdown { .. } => "SHUTDOWN",
            Event::Powerdown => "POWERDOWN",
            Event::Reset { .. } => "RESET",
            Event::Stop => "STOP",
            Event::Resume => "RESUME",
            Event::DeviceDeleted { .. } => "DEVICE_DELETED",
            Event::Other { name, .. } => name,
        }
    }
}
