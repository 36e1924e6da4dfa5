//! The connection to the cluster: a kube Client and the namespace, resolved like kubectl does.
use crate::cli::GlobalArgs;
use anyhow::{Context as _, Result};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

pub struct Context {
    pub client: Client,
    pub namespace: String,
    /// The cluster's operation lock, held while a changing command runs.
    pub lock: Option<crate::lock::OperationLock>,
    /// --color, for commands that paint their output.
    pub color: crate::cli::ColorChoice,
    /// The history of this command's operation (Kubernetes Events); None when read-only.
    pub events: Option<crate::events::Recorder>,
}

impl Context {
    pub async fn connect(global: &GlobalArgs) -> Result<Self> {
        let options = KubeConfigOptions {
            context: global.context.clone(),
            ..Default::default()
        };
        let config = match &global.kubeconfig {
            Some(path) => {
                let kubeconfig = Kubeconfig::read_from(path)
                    .with_context(|| format!("cannot read kubeconfig {}", path.display()))?;
                Config::from_custom_kubeconfig(kubeconfig, &options).await
            }
            None => Config::from_kubeconfig(&options).await,
        }
        .context("cannot load the kubeconfig")?;
        let namespace = global
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        let client = Client::try_from(config).context("cannot build a Kubernetes client")?;
        Ok(Self {
            client,
            namespace,
            lock: None,
            color: global.color,
            events: None,
        })
    }

    /// Fails when this command's operation lock was lost (not renewed in time, or taken over):
    /// called before each step that cannot be undone.
    pub fn ensure_lock_held(&self) -> Result<()> {
        match &self.lock {
            Some(lock) => lock.ensure_held(),
            None => Ok(()),
        }
    }

    /// Records a step of this command's operation in the cluster's history (a Normal Kubernetes
    /// Event on its ConfigMap; `reason` in CamelCase). Never fails, never waits.
    pub fn event(&self, reason: &str, note: impl AsRef<str>) {
        if let Some(events) = &self.events {
            events.step(reason, note.as_ref(), None);
        }
    }

    /// As `event`, for a step about member `pod` (named as the related object).
    pub fn member_event(&self, pod: &str, reason: &str, note: impl AsRef<str>) {
        if let Some(events) = &self.events {
            events.step(reason, note.as_ref(), Some(pod));
        }
    }
}
