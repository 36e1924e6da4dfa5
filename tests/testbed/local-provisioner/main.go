// local-provisioner: the test bed's node-local volumes. A claim of the StorageClass "local"
// (WaitForFirstConsumer) gets a directory on the node the scheduler chose for its first pod,
// and a `local` PersistentVolume whose node affinity ties it to that node: like a local disk,
// the data never follows a pod to another node. Built on the Kubernetes SIG Storage
// provisioner library (leader election, retries, events, finalizers come from it). The class
// allows expansion: resize.go grows a claim's volume when its request grows.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v13/controller"
)

const nodeKey = "kubernetes.io/hostname"

type localProvisioner struct {
	root string // <root>/<node>/volumes/<pv> is a volume's directory
}

func (p *localProvisioner) dir(node, pv string) string {
	return filepath.Join(p.root, node, "volumes", pv)
}

func (p *localProvisioner) Provision(_ context.Context, o controller.ProvisionOptions) (*v1.PersistentVolume, controller.ProvisioningState, error) {
	node := o.SelectedNodeName
	if node == "" {
		return nil, controller.ProvisioningFinished, errors.New("no node selected: the StorageClass must bind on first consumer")
	}
	dir := p.dir(node, o.PVName)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, controller.ProvisioningFinished, fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		return nil, controller.ProvisioningFinished, err
	}
	claim := o.PVC
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: o.PVName, Labels: map[string]string{nodeKey: node}},
		Spec: v1.PersistentVolumeSpec{
			PersistentVolumeReclaimPolicy: *o.StorageClass.ReclaimPolicy,
			AccessModes:                   claim.Spec.AccessModes,
			Capacity:                      v1.ResourceList{v1.ResourceStorage: claim.Spec.Resources.Requests[v1.ResourceStorage]},
			PersistentVolumeSource:        v1.PersistentVolumeSource{Local: &v1.LocalVolumeSource{Path: dir}},
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{
				NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{{
					Key: nodeKey, Operator: v1.NodeSelectorOpIn, Values: []string{node},
				}}}},
			}},
			MountOptions: o.StorageClass.MountOptions,
		},
	}
	klog.InfoS("provisioned", "pv", o.PVName, "claim", claim.Namespace+"/"+claim.Name, "node", node, "dir", dir)
	return pv, controller.ProvisioningFinished, nil
}

func (p *localProvisioner) Delete(_ context.Context, pv *v1.PersistentVolume) error {
	if pv.Spec.Local == nil {
		return errors.New("not a local volume")
	}
	if err := os.RemoveAll(pv.Spec.Local.Path); err != nil {
		return err
	}
	klog.InfoS("deleted", "pv", pv.Name, "dir", pv.Spec.Local.Path)
	return nil
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the provisioner")
	root := flag.String("root", "", "directory holding <node>/volumes/")
	name := flag.String("name", "mysqlha.io/local", "provisioner name of the StorageClass")
	klog.InitFlags(nil)
	flag.Parse()
	if *root == "" {
		klog.Fatal("-root is required")
	}
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		klog.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(config)
	ctx := context.Background()
	p := &localProvisioner{root: *root}
	go resizeEvery(ctx, client, p, time.Second)
	pc := controller.NewProvisionController(ctx, client, *name, p, controller.LeaderElection(false))
	pc.Run(ctx)
}
