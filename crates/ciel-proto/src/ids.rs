//! Typed ids: a port id cannot be passed where a network id is expected. On the wire and in
//! the database they are the plain UUID strings OpenStack uses (`serde(transparent)`, and
//! with the `sqlx` feature a transparent TEXT column), so the types change nothing a client
//! or an older agent sees. They read as `&str` (`Deref`) where text is needed.

use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }
        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }
        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    };
}

id_type!(
    /// A hypervisor (or network/storage) host registered with the controller.
    HostId
);
id_type!(
    /// A Nova server (instance).
    ServerId
);
id_type!(
    /// A Neutron port.
    PortId
);
id_type!(
    /// A Neutron network.
    NetworkId
);
id_type!(
    /// A Neutron subnet.
    SubnetId
);
id_type!(
    /// A Neutron router.
    RouterId
);
id_type!(
    /// A Neutron security group.
    SecurityGroupId
);
id_type!(
    /// A Cinder volume.
    VolumeId
);
id_type!(
    /// A Cinder volume snapshot.
    SnapshotId
);
id_type!(
    /// A Glance image.
    ImageId
);
id_type!(
    /// A Keystone project (the owner of most resources).
    ProjectId
);
id_type!(
    /// A Keystone user.
    UserId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_strings_on_the_wire() {
        let id = PortId::from("6c1a6a2e-0000-4000-8000-000000000001");
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"6c1a6a2e-0000-4000-8000-000000000001\""
        );
        let back: PortId = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(back, "abc");
    }
}
