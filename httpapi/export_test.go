package httpapi

// NodeSignature signs a proxied request as a node does (callnode_test.go
// forges and replays them).
var NodeSignature = nodeSignature
