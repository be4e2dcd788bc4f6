//! The few containerd API calls the init makes, through the
//! `containerd-client` crate on a single-threaded tokio runtime: every call
//! blocks until it answers or times out, so the init stays one simple loop.

use std::io;
use std::time::Duration;

use containerd_client::services::v1::container::Runtime;
use containerd_client::services::v1::containers_client::ContainersClient;
use containerd_client::services::v1::tasks_client::TasksClient;
use containerd_client::services::v1::version_client::VersionClient;
use containerd_client::services::v1::{
    Container, CreateContainerRequest, CreateTaskRequest, DeleteContainerRequest,
    DeleteTaskRequest, KillRequest, ListTasksRequest, StartRequest,
};
use containerd_client::tonic::metadata::MetadataValue;
use containerd_client::tonic::transport::Channel;
use containerd_client::tonic::{Code, Request, Status};
use prost_types::Any;

use crate::sys::Task;

const RUNTIME: &str = "io.containerd.runc.v2";
const SPEC_TYPE: &str = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// containerd's task status STOPPED.
const STOPPED: i32 = 3;

#[derive(Debug)]
pub struct Client {
    rt: tokio::runtime::Runtime,
    channel: Option<Channel>,
}

/// A request in the containerd namespace `ns`.
fn request<T>(ns: &str, message: T) -> io::Result<Request<T>> {
    let value = MetadataValue::try_from(ns).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{ns:?} is not a containerd namespace name (letters, digits, '.', '_', '-')"),
        )
    })?;
    let mut r = Request::new(message);
    r.metadata_mut().insert("containerd-namespace", value);
    Ok(r)
}

fn status_error(what: &str, s: Status) -> io::Error {
    let kind = match s.code() {
        Code::NotFound => io::ErrorKind::NotFound,
        Code::AlreadyExists => io::ErrorKind::AlreadyExists,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, format!("containerd {what}: {}", s.message()))
}

/// config.json with `root.path` made absolute, so runc finds the rootfs
/// without a snapshotter.
pub fn spec_for(config_json: &str, bundle: &str) -> io::Result<Vec<u8>> {
    let mut spec: serde_json::Value = serde_json::from_str(config_json).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{bundle}/config.json: {e}"),
        )
    })?;
    let obj = spec.as_object_mut().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidData, "config.json is not an object")
    })?;
    let root = obj.entry("root").or_insert_with(|| serde_json::json!({}));
    if let Some(root) = root.as_object_mut() {
        root.insert("path".into(), format!("{bundle}/rootfs").into());
    }
    serde_json::to_vec(&spec).map_err(io::Error::other)
}

impl Client {
    pub fn new() -> io::Result<Client> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        Ok(Client { rt, channel: None })
    }

    fn channel(&self) -> io::Result<Channel> {
        self.channel.clone().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotConnected, "containerd is not connected")
        })
    }

    fn block<T>(&self, what: &str, f: impl Future<Output = Result<T, Status>>) -> io::Result<T> {
        // The timer must be made inside the runtime, so inside the block.
        match self
            .rt
            .block_on(async { tokio::time::timeout(CALL_TIMEOUT, f).await })
        {
            Ok(r) => r.map_err(|s| status_error(what, s)),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("containerd {what}: no answer"),
            )),
        }
    }

    pub fn ready(&mut self, socket: &str) -> io::Result<()> {
        let channel = self.rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(2), containerd_client::connect(socket)).await
        });
        let channel = match channel {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return Err(io::Error::other(e)),
            Err(_) => return Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")),
        };
        let mut version = VersionClient::new(channel.clone());
        self.block("version", async { version.version(Request::new(())).await })?;
        self.channel = Some(channel);
        Ok(())
    }

    pub fn create(&mut self, ns: &str, name: &str, spec: Vec<u8>) -> io::Result<()> {
        let mut containers = ContainersClient::new(self.channel()?);
        let mut tasks = TasksClient::new(self.channel()?);
        // Leftovers of an earlier start: containerd's state is on tmpfs, so
        // only a restart of the services within one boot leaves any.
        let delete_task = request(
            ns,
            DeleteTaskRequest {
                container_id: name.into(),
            },
        )?;
        let _ = self.block("delete task", async { tasks.delete(delete_task).await });
        let delete = request(ns, DeleteContainerRequest { id: name.into() })?;
        let _ = self.block("delete container", async {
            containers.delete(delete).await
        });
        let container = Container {
            id: name.into(),
            runtime: Some(Runtime {
                name: RUNTIME.into(),
                options: None,
            }),
            spec: Some(Any {
                type_url: SPEC_TYPE.into(),
                value: spec,
            }),
            ..Container::default()
        };
        let create = request(
            ns,
            CreateContainerRequest {
                container: Some(container),
            },
        )?;
        self.block("create container", async {
            containers.create(create).await
        })?;
        Ok(())
    }

    /// Creates the task; its process waits for [`Client::start`].
    pub fn create_task(&mut self, ns: &str, name: &str, log_fifo: &str) -> io::Result<u32> {
        let mut tasks = TasksClient::new(self.channel()?);
        let create = request(
            ns,
            CreateTaskRequest {
                container_id: name.into(),
                stdout: log_fifo.into(),
                stderr: log_fifo.into(),
                ..CreateTaskRequest::default()
            },
        )?;
        let pid = self.block("create task", async { tasks.create(create).await })?;
        Ok(pid.into_inner().pid)
    }

    pub fn start(&mut self, ns: &str, name: &str) -> io::Result<()> {
        let mut tasks = TasksClient::new(self.channel()?);
        let start = request(
            ns,
            StartRequest {
                container_id: name.into(),
                exec_id: String::new(),
            },
        )?;
        self.block("start task", async { tasks.start(start).await })?;
        Ok(())
    }

    pub fn tasks(&mut self, ns: &str) -> io::Result<Vec<Task>> {
        let mut tasks = TasksClient::new(self.channel()?);
        let list = request(
            ns,
            ListTasksRequest {
                filter: String::new(),
            },
        )?;
        let list = self.block("list tasks", async { tasks.list(list).await })?;
        Ok(list
            .into_inner()
            .tasks
            .into_iter()
            .map(|p| Task {
                name: p.id,
                alive: p.status != STOPPED,
            })
            .collect())
    }

    pub fn kill(&mut self, ns: &str, name: &str, signal: i32) -> io::Result<()> {
        let mut tasks = TasksClient::new(self.channel()?);
        let kill = request(
            ns,
            KillRequest {
                container_id: name.into(),
                exec_id: String::new(),
                signal: u32::try_from(signal).unwrap_or(9),
                all: true,
            },
        )?;
        self.block("kill task", async { tasks.kill(kill).await })?;
        Ok(())
    }

    pub fn delete(&mut self, ns: &str, name: &str) -> io::Result<u32> {
        let mut tasks = TasksClient::new(self.channel()?);
        let delete = request(
            ns,
            DeleteTaskRequest {
                container_id: name.into(),
            },
        )?;
        let r = self.block("delete task", async { tasks.delete(delete).await })?;
        Ok(r.into_inner().exit_status)
    }
}
