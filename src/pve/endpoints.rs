//! The catalog of every Proxmox API method proxdeck calls.
//!
//! An [`Endpoint`] can only be made here (its fields are private), and every one
//! is listed in [`ALL`], so the schema test sees each method and path proxdeck
//! can ever send.

use std::fmt;

/// HTTP method of an API call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One method on one path template of the API.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Endpoint {
    method: Method,
    path: &'static str,
    what: &'static str,
}

impl Endpoint {
    pub fn method(&self) -> Method {
        self.method
    }
    /// The path template as the schema writes it (`/nodes/{node}/qemu/{vmid}/clone`).
    pub fn path(&self) -> &'static str {
        self.path
    }
    /// What the call does, for logs and errors.
    pub fn what(&self) -> &'static str {
        self.what
    }
    /// Names of the path placeholders, in order.
    pub fn placeholders(&self) -> Vec<&'static str> {
        self.path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect()
    }
}

macro_rules! endpoints {
    ($($name:ident = $method:ident $path:literal, $what:literal;)*) => {
        $(pub static $name: Endpoint = Endpoint { method: Method::$method, path: $path, what: $what };)*
        /// Every endpoint proxdeck calls.
        pub static ALL: &[&Endpoint] = &[$(&$name,)*];
    };
}

endpoints! {
    VERSION = Get "/version", "read the Proxmox version";
    TICKET = Post "/access/ticket", "log in";
    CLUSTER_RESOURCES = Get "/cluster/resources", "list cluster resources";
    CLUSTER_STATUS = Get "/cluster/status", "read cluster status";
    CLUSTER_TASKS = Get "/cluster/tasks", "list cluster tasks";
    CLUSTER_NEXTID = Get "/cluster/nextid", "get the next free VMID";
    NODES = Get "/nodes", "list nodes";
    NODE_STATUS = Get "/nodes/{node}/status", "read node status";
    NODE_TIME = Get "/nodes/{node}/time", "read the node's time zone";
    NODE_NETWORK = Get "/nodes/{node}/network", "list node network interfaces";
    NODE_TASKS = Get "/nodes/{node}/tasks", "list node tasks";
    TASK_STATUS = Get "/nodes/{node}/tasks/{upid}/status", "read task status";
    TASK_LOG = Get "/nodes/{node}/tasks/{upid}/log", "read task log";
    TASK_STOP = Delete "/nodes/{node}/tasks/{upid}", "stop a task";
    QEMU_LIST = Get "/nodes/{node}/qemu", "list VMs";
    LXC_LIST = Get "/nodes/{node}/lxc", "list containers";
    QEMU_CREATE = Post "/nodes/{node}/qemu", "create or restore a VM";
    LXC_CREATE = Post "/nodes/{node}/lxc", "create or restore a container";
    QEMU_DESTROY = Delete "/nodes/{node}/qemu/{vmid}", "destroy a VM";
    LXC_DESTROY = Delete "/nodes/{node}/lxc/{vmid}", "destroy a container";
    QEMU_STATUS = Get "/nodes/{node}/qemu/{vmid}/status/current", "read VM status";
    LXC_STATUS = Get "/nodes/{node}/lxc/{vmid}/status/current", "read container status";
    QEMU_CONFIG = Get "/nodes/{node}/qemu/{vmid}/config", "read VM config";
    LXC_CONFIG = Get "/nodes/{node}/lxc/{vmid}/config", "read container config";
    QEMU_CONFIG_SET = Put "/nodes/{node}/qemu/{vmid}/config", "change VM config";
    QEMU_CONFIG_SET_ASYNC = Post "/nodes/{node}/qemu/{vmid}/config", "change VM config (task)";
    LXC_CONFIG_SET = Put "/nodes/{node}/lxc/{vmid}/config", "change container config";
    QEMU_CLONE = Post "/nodes/{node}/qemu/{vmid}/clone", "clone a VM";
    LXC_CLONE = Post "/nodes/{node}/lxc/{vmid}/clone", "clone a container";
    QEMU_TEMPLATE = Post "/nodes/{node}/qemu/{vmid}/template", "convert a VM to a template";
    LXC_TEMPLATE = Post "/nodes/{node}/lxc/{vmid}/template", "convert a container to a template";
    QEMU_MIGRATE = Post "/nodes/{node}/qemu/{vmid}/migrate", "migrate a VM";
    LXC_MIGRATE = Post "/nodes/{node}/lxc/{vmid}/migrate", "migrate a container";
    QEMU_START = Post "/nodes/{node}/qemu/{vmid}/status/start", "start a VM";
    LXC_START = Post "/nodes/{node}/lxc/{vmid}/status/start", "start a container";
    QEMU_STOP = Post "/nodes/{node}/qemu/{vmid}/status/stop", "stop a VM";
    LXC_STOP = Post "/nodes/{node}/lxc/{vmid}/status/stop", "stop a container";
    QEMU_SHUTDOWN = Post "/nodes/{node}/qemu/{vmid}/status/shutdown", "shut a VM down";
    LXC_SHUTDOWN = Post "/nodes/{node}/lxc/{vmid}/status/shutdown", "shut a container down";
    QEMU_SNAPSHOTS = Get "/nodes/{node}/qemu/{vmid}/snapshot", "list VM snapshots";
    LXC_SNAPSHOTS = Get "/nodes/{node}/lxc/{vmid}/snapshot", "list container snapshots";
    QEMU_SNAPSHOT_CREATE = Post "/nodes/{node}/qemu/{vmid}/snapshot", "snapshot a VM";
    LXC_SNAPSHOT_CREATE = Post "/nodes/{node}/lxc/{vmid}/snapshot", "snapshot a container";
    QEMU_SNAPSHOT_DELETE = Delete "/nodes/{node}/qemu/{vmid}/snapshot/{snapname}", "delete a VM snapshot";
    LXC_SNAPSHOT_DELETE = Delete "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}", "delete a container snapshot";
    QEMU_ROLLBACK = Post "/nodes/{node}/qemu/{vmid}/snapshot/{snapname}/rollback", "roll a VM back";
    LXC_ROLLBACK = Post "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/rollback", "roll a container back";
    VZDUMP = Post "/nodes/{node}/vzdump", "back up guests";
    STORAGE_LIST = Get "/nodes/{node}/storage", "list storages";
    STORAGE_CONTENT = Get "/nodes/{node}/storage/{storage}/content", "list storage content";
    VOLUME_UPDATE = Put "/nodes/{node}/storage/{storage}/content/{volume}", "update a volume's notes or protection";
    VOLUME_DELETE = Delete "/nodes/{node}/storage/{storage}/content/{volume}", "delete a volume";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_has_no_duplicates() {
        let mut seen = std::collections::HashSet::new();
        for e in ALL {
            assert!(
                seen.insert((e.method(), e.path())),
                "{} {} twice",
                e.method(),
                e.path()
            );
        }
        assert_eq!(
            QEMU_ROLLBACK.placeholders(),
            vec!["node", "vmid", "snapname"]
        );
    }
}
