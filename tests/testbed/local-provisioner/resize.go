// Volume expansion for the "local" class (allowVolumeExpansion: true). A volume here is a
// directory, which has no size of its own: as the kubelet's local volume plugin says of such
// volumes, expanding one on the node is a no-op. So growing a claim is what a CSI driver's
// controller expansion with no node step amounts to: the PersistentVolume's capacity, then
// the claim's status (capacity and allocated size), which is what the API's users wait for.
// kube-controller-manager leaves these claims to "an external controller": this one.
package main

import (
	"context"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

func resizeEvery(ctx context.Context, client kubernetes.Interface, p *localProvisioner, every time.Duration) {
	for {
		claims, err := client.CoreV1().PersistentVolumeClaims("").List(ctx, metav1.ListOptions{})
		if err != nil {
			klog.ErrorS(err, "listing claims")
		} else {
			for i := range claims.Items {
				if err := p.resize(ctx, client, &claims.Items[i]); err != nil {
					klog.ErrorS(err, "resizing", "claim", claims.Items[i].Namespace+"/"+claims.Items[i].Name)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// resize grows the volume of a bound claim whose request exceeds its capacity, if the volume
// is one of this provisioner's.
func (p *localProvisioner) resize(ctx context.Context, client kubernetes.Interface, claim *v1.PersistentVolumeClaim) error {
	wanted, asked := claim.Spec.Resources.Requests[v1.ResourceStorage]
	have := claim.Status.Capacity[v1.ResourceStorage]
	if claim.Status.Phase != v1.ClaimBound || !asked || wanted.Cmp(have) <= 0 {
		return nil
	}
	pv, err := client.CoreV1().PersistentVolumes().Get(ctx, claim.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if pv.Spec.Local == nil || !strings.HasPrefix(pv.Spec.Local.Path, p.root+"/") {
		return nil
	}
	if capacity := pv.Spec.Capacity[v1.ResourceStorage]; capacity.Cmp(wanted) < 0 {
		pv.Spec.Capacity[v1.ResourceStorage] = wanted
		if _, err := client.CoreV1().PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	status := &claim.Status
	if status.Capacity == nil {
		status.Capacity = v1.ResourceList{}
	}
	status.Capacity[v1.ResourceStorage] = wanted
	if status.AllocatedResources == nil {
		status.AllocatedResources = v1.ResourceList{}
	}
	status.AllocatedResources[v1.ResourceStorage] = wanted
	delete(status.AllocatedResourceStatuses, v1.ResourceStorage)
	conditions := status.Conditions[:0]
	for _, c := range status.Conditions {
		if c.Type != v1.PersistentVolumeClaimResizing && c.Type != v1.PersistentVolumeClaimFileSystemResizePending {
			conditions = append(conditions, c)
		}
	}
	status.Conditions = conditions
	if _, err := client.CoreV1().PersistentVolumeClaims(claim.Namespace).UpdateStatus(ctx, claim, metav1.UpdateOptions{}); err != nil {
		return err
	}
	klog.InfoS("resized", "pv", pv.Name, "claim", claim.Namespace+"/"+claim.Name, "size", wanted.String())
	return nil
}
