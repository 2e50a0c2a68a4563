//! The typed API: one method per call, built by `requests` and sent by `client`.

use super::client::PveClient;
use super::error::PveError;
use super::request::ApiRequest;
use super::requests::{self as rq, *};
use super::types::*;
use super::upid::Upid;

type Result<T> = std::result::Result<T, PveError>;

fn upid_of(v: serde_json::Value, what: &str) -> Result<Upid> {
    let s = v.as_str().ok_or_else(|| PveError::Decode {
        what: what.to_string(),
        message: format!("expected a task id, got {v}"),
    })?;
    s.parse()
        .map_err(|e: super::upid::BadUpid| PveError::Decode {
            what: what.to_string(),
            message: e.to_string(),
        })
}

fn opt_upid(v: serde_json::Value, what: &str) -> Result<Option<Upid>> {
    if v.is_null() {
        Ok(None)
    } else {
        upid_of(v, what).map(Some)
    }
}

impl PveClient {
    async fn task_call(&self, req: ApiRequest) -> Result<Upid> {
        let env = self.execute(&req).await?;
        upid_of(env.data(), req.endpoint.what())
    }

    async fn unit_call(&self, req: ApiRequest) -> Result<()> {
        self.execute(&req).await.map(|_| ())
    }

    pub async fn version(&self) -> Result<Version> {
        self.call(&rq::version()).await
    }

    /// Everything in the cluster in one call (`kind`: vm, storage, node, sdn).
    pub async fn cluster_resources(&self, kind: Option<&str>) -> Result<Vec<ClusterResource>> {
        self.call(&rq::cluster_resources(kind)).await
    }

    pub async fn cluster_status(&self) -> Result<Vec<ClusterStatusItem>> {
        self.call(&rq::cluster_status()).await
    }

    pub async fn cluster_tasks(&self) -> Result<Vec<TaskListItem>> {
        self.call(&rq::cluster_tasks()).await
    }

    /// The next free VMID (Proxmox answers it as a string).
    pub async fn next_id(&self) -> Result<u32> {
        let env = self.execute(&rq::next_id(None)).await?;
        let v = &env.data();
        super::de::int_value(v)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| PveError::Decode {
                what: "next free VMID".into(),
                message: format!("got {v}"),
            })
    }

    /// Whether `vmid` is free (Proxmox answers 400 `VM n already exists` if not).
    pub async fn vmid_free(&self, vmid: u32) -> Result<bool> {
        match self.execute(&rq::next_id(Some(vmid))).await {
            Ok(_) => Ok(true),
            Err(PveError::BadRequest { errors, .. }) if errors.contains_key("vmid") => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn nodes(&self) -> Result<Vec<NodeListItem>> {
        self.call(&rq::nodes()).await
    }

    pub async fn node_status(&self, node: &str) -> Result<NodeStatus> {
        self.call(&rq::node_status(node)).await
    }

    /// The node's clock and time zone.
    pub async fn node_time(&self, node: &str) -> Result<NodeTime> {
        self.call(&rq::node_time(node)).await
    }

    pub async fn node_network(&self, node: &str) -> Result<Vec<NetworkIface>> {
        self.call(&rq::node_network(node, None)).await
    }

    pub async fn node_tasks(&self, node: &str, o: &TaskListOptions) -> Result<Vec<TaskListItem>> {
        self.call(&rq::node_tasks(node, o)).await
    }

    pub async fn guests(&self, node: &str, kind: GuestKind) -> Result<Vec<GuestListItem>> {
        self.call(&rq::guest_list(node, kind)).await
    }

    pub async fn guest_status(&self, g: &GuestRef) -> Result<GuestStatus> {
        self.call(&rq::guest_status(g)).await
    }

    /// The config with pending changes applied (what the next start uses).
    pub async fn guest_config(&self, g: &GuestRef) -> Result<GuestConfig> {
        self.call(&rq::guest_config(g)).await
    }

    /// The config a running guest runs with now.
    pub async fn guest_config_current(&self, g: &GuestRef) -> Result<GuestConfig> {
        self.call(&rq::guest_config_current(g)).await
    }

    /// Change a guest's configuration synchronously (PUT).
    pub async fn set_config(&self, g: &GuestRef, change: &ConfigChange) -> Result<()> {
        self.unit_call(rq::set_config(g, change)).await
    }

    /// qemu: change the configuration as a task (POST); `None` when nothing needed a worker.
    pub async fn set_qemu_config_async(
        &self,
        g: &GuestRef,
        change: &ConfigChange,
    ) -> Result<Option<Upid>> {
        let req = rq::set_qemu_config_async(g, change);
        let env = self.execute(&req).await?;
        opt_upid(env.data(), req.endpoint.what())
    }

    pub async fn clone_guest(&self, g: &GuestRef, o: &CloneOptions) -> Result<Upid> {
        self.task_call(rq::clone(g, o)).await
    }

    /// qemu answers a task, lxc converts synchronously and answers null.
    pub async fn make_template(&self, g: &GuestRef) -> Result<Option<Upid>> {
        let req = rq::template(g);
        let env = self.execute(&req).await?;
        opt_upid(env.data(), req.endpoint.what())
    }

    pub async fn destroy_guest(&self, g: &GuestRef, o: &DestroyOptions) -> Result<Upid> {
        self.task_call(rq::destroy(g, o)).await
    }

    pub async fn migrate(&self, g: &GuestRef, o: &MigrateOptions) -> Result<Upid> {
        self.task_call(rq::migrate(g, o)).await
    }

    pub async fn power(&self, g: &GuestRef, p: Power) -> Result<Upid> {
        self.task_call(rq::power(g, p)).await
    }

    /// Snapshots, including the `current` pseudo-entry Proxmox appends.
    pub async fn snapshots(&self, g: &GuestRef) -> Result<Vec<SnapshotInfo>> {
        self.call(&rq::snapshots(g)).await
    }

    pub async fn create_snapshot(&self, g: &GuestRef, o: &SnapshotOptions) -> Result<Upid> {
        self.task_call(rq::snapshot_create(g, o)).await
    }

    pub async fn delete_snapshot(&self, g: &GuestRef, name: &str) -> Result<Upid> {
        self.task_call(rq::snapshot_delete(g, name, None)).await
    }

    pub async fn rollback(&self, g: &GuestRef, name: &str, start: Option<bool>) -> Result<Upid> {
        self.task_call(rq::rollback(g, name, start)).await
    }

    pub async fn vzdump(&self, node: &str, o: &VzdumpOptions) -> Result<Upid> {
        self.task_call(rq::vzdump(node, o)).await
    }

    pub async fn storages(&self, node: &str, q: &StorageQuery) -> Result<Vec<StorageInfo>> {
        self.call(&rq::storages(node, q)).await
    }

    pub async fn storage_content(
        &self,
        node: &str,
        storage: &str,
        content: Option<&str>,
        vmid: Option<u32>,
    ) -> Result<Vec<StorageContent>> {
        self.call(&rq::storage_content(node, storage, content, vmid))
            .await
    }

    pub async fn update_volume(
        &self,
        node: &str,
        storage: &str,
        volid: &str,
        notes: Option<&str>,
        protected: Option<bool>,
    ) -> Result<()> {
        self.unit_call(rq::volume_update(node, storage, volid, notes, protected))
            .await
    }

    /// Delete a volume; Proxmox runs an `imgdel` task and answers its id.
    pub async fn delete_volume(
        &self,
        node: &str,
        storage: &str,
        volid: &str,
    ) -> Result<Option<Upid>> {
        let req = rq::volume_delete(node, storage, volid, None);
        let env = self.execute(&req).await?;
        opt_upid(env.data(), req.endpoint.what())
    }

    /// Restore a backup as guest `o.vmid` (qemu `archive=`, lxc `ostemplate=` + `restore=1`).
    pub async fn restore(&self, node: &str, kind: GuestKind, o: &RestoreOptions) -> Result<Upid> {
        self.task_call(rq::restore(node, kind, o)).await
    }

    pub async fn task_status(&self, upid: &Upid) -> Result<TaskStatus> {
        self.call(&rq::task_status(&upid.node, upid.as_str())).await
    }

    /// Log lines from `start` (0-based), at most `limit`; also the total line count.
    pub async fn task_log(
        &self,
        upid: &Upid,
        start: u32,
        limit: u32,
    ) -> Result<(Vec<LogLine>, Option<u64>)> {
        let req = rq::task_log(&upid.node, upid.as_str(), start, limit);
        let env = self.execute(&req).await?;
        let total = env.total();
        Ok((env.decode(req.endpoint.what())?, total))
    }

    pub async fn stop_task(&self, upid: &Upid) -> Result<()> {
        self.unit_call(rq::task_stop(&upid.node, upid.as_str()))
            .await
    }
}
