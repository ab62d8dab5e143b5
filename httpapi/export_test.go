package httpapi

// NodeSignature signs a proxied request as a node does (callnode_test.go
// forges and replays them).
var NodeSignature = nodeSignature

// SignalMAC signs a node signal as a node does (nodesignal_test.go forges
// and alters them).
var SignalMAC = signalMAC
