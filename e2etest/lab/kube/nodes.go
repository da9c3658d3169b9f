package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// NodeSpec describes a Node object standing for a lab node namespace.
type NodeSpec struct {
	Name string
	// Addresses become InternalIP addresses (IPv4 and IPv6).
	Addresses []netip.Addr
	// Labels are added to kubernetes.io/hostname, kubernetes.io/os and
	// kubernetes.io/arch.
	Labels map[string]string
}

// NewNode returns the Node object for spec, with a Ready status. It is pure.
func NewNode(spec NodeSpec) *corev1.Node {
	labels := map[string]string{
		"kubernetes.io/hostname": spec.Name,
		"kubernetes.io/os":       "linux",
		"kubernetes.io/arch":     "amd64",
	}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	addrs := []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: spec.Name}}
	for _, a := range spec.Addresses {
		addrs = append(addrs, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: a.String()})
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: spec.Name, Labels: labels},
		Status: corev1.NodeStatus{
			Addresses: addrs,
			Conditions: []corev1.NodeCondition{
				{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "LabNode", Message: "lab node namespace"},
				{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionFalse, Reason: "LabNode"},
			},
			NodeInfo: corev1.NodeSystemInfo{OperatingSystem: "linux", Architecture: "amd64"},
		},
	}
}

// CreateNode creates the Node and then sets its status (the API ignores
// status on create).
func (c *Client) CreateNode(ctx context.Context, spec NodeSpec) (*corev1.Node, error) {
	want := NewNode(spec)
	got, err := c.Kube.CoreV1().Nodes().Create(ctx, want, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create node %s: %w", spec.Name, err)
	}
	now := metav1.Now()
	got.Status = want.Status
	for i := range got.Status.Conditions {
		got.Status.Conditions[i].LastHeartbeatTime, got.Status.Conditions[i].LastTransitionTime = now, now
	}
	got, err = c.Kube.CoreV1().Nodes().UpdateStatus(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("set status of node %s: %w", spec.Name, err)
	}
	return got, nil
}

// SetNodeCondition sets one condition of a node's status (e.g.
// NetworkUnavailable=True to test that announcements are withdrawn).
func (c *Client) SetNodeCondition(ctx context.Context, node string, typ corev1.NodeConditionType, status corev1.ConditionStatus) error {
	n, err := c.Kube.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("set condition %s of node %s: %w", typ, node, err)
	}
	now := metav1.Now()
	found := false
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == typ {
			n.Status.Conditions[i].Status, n.Status.Conditions[i].LastTransitionTime = status, now
			found = true
		}
	}
	if !found {
		n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: typ, Status: status, LastTransitionTime: now})
	}
	if _, err := c.Kube.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("set condition %s of node %s: %w", typ, node, err)
	}
	return nil
}

// LabelNode sets (value != nil) or removes (value == nil) a node label.
func (c *Client) LabelNode(ctx context.Context, node, key string, value *string) error {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]*string{key: value}}})
	if _, err := c.Kube.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("label node %s with %s: %w", node, key, err)
	}
	return nil
}
