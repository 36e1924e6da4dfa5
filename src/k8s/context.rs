//! The connection to the cluster: a kube Client and the namespace, resolved like kubectl does.
use crate::base::style::ColorChoice;
use crate::k8s::events::Reason;
use anyhow::{Context as _, Result};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use std::path::Path;

pub struct Context {
    pub client: Client,
    pub namespace: String,
    /// The cluster's operation lock, held while a changing command runs.
    pub lock: Option<crate::k8s::lock::OperationLock>,
    /// --color, for commands that paint their output.
    pub color: ColorChoice,
    /// The history of this command's operation (Kubernetes Events); None when read-only.
    pub events: Option<crate::k8s::events::Recorder>,
}

impl Context {
    /// Connects with the kubeconfig at `kubeconfig` (else the usual one), its context
    /// `context` (else the current one), in `namespace` (else the context's).
    pub async fn connect(
        kubeconfig: Option<&Path>,
        context: Option<String>,
        namespace: Option<String>,
        color: ColorChoice,
    ) -> Result<Self> {
        let options = KubeConfigOptions {
            context,
            ..Default::default()
        };
        let config = match kubeconfig {
            Some(path) => {
                let kubeconfig = Kubeconfig::read_from(path)
                    .with_context(|| format!("cannot read kubeconfig {}", path.display()))?;
                Config::from_custom_kubeconfig(kubeconfig, &options).await
            }
            None => Config::from_kubeconfig(&options).await,
        }
        .context("cannot load the kubeconfig")?;
        let namespace = namespace.unwrap_or_else(|| config.default_namespace.clone());
        let client = Client::try_from(config).context("cannot build a Kubernetes client")?;
        Ok(Self {
            client,
            namespace,
            lock: None,
            color,
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
    /// Event on its ConfigMap). Never fails, never waits.
    pub fn event(&self, reason: Reason, note: impl AsRef<str>) {
        if let Some(events) = &self.events {
            events.step(reason, note.as_ref(), None);
        }
    }

    /// As `event`, for a step about member `pod` (named as the related object).
    pub fn member_event(&self, pod: &str, reason: Reason, note: impl AsRef<str>) {
        if let Some(events) = &self.events {
            events.step(reason, note.as_ref(), Some(pod));
        }
    }
}
