package activitypub

// NodeInfo schema identifiers, used as link relations in the discovery
// document. 2.1 is current; 2.0 is still the only one some crawlers read.
const (
	NodeInfoSchema21 = "http://nodeinfo.diaspora.software/ns/schema/2.1"
	NodeInfoSchema20 = "http://nodeinfo.diaspora.software/ns/schema/2.0"
)

// NodeInfoContentType is the media type of a NodeInfo document of the given
// schema version, for example "2.1".
func NodeInfoContentType(version string) string {
	return `application/json; profile="http://nodeinfo.diaspora.software/ns/schema/` + version + `#"`
}

// SoftwareName is how Hearth names itself in NodeInfo. Peers such as PieFed
// choose what to send by this name.
const SoftwareName = "hearth"

// NodeInfoDiscovery is the document at /.well-known/nodeinfo.
type NodeInfoDiscovery struct {
	Links []NodeInfoLink `json:"links"`
}

// NodeInfoLink points at one NodeInfo document.
type NodeInfoLink struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

// NodeInfo describes the instance: software, protocols and usage.
type NodeInfo struct {
	Version           string           `json:"version"`
	Software          NodeInfoSoftware `json:"software"`
	Protocols         []string         `json:"protocols"`
	Services          NodeInfoServices `json:"services"`
	OpenRegistrations bool             `json:"openRegistrations"`
	Usage             NodeInfoUsage    `json:"usage"`
	Metadata          map[string]any   `json:"metadata"`
}

// NodeInfoSoftware names the server software.
type NodeInfoSoftware struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// NodeInfoServices lists third-party services the instance connects to; a
// Hearth instance connects to none.
type NodeInfoServices struct {
	Inbound  []string `json:"inbound"`
	Outbound []string `json:"outbound"`
}

// NodeInfoUsage counts what the instance serves.
type NodeInfoUsage struct {
	Users      NodeInfoUsers `json:"users"`
	LocalPosts int           `json:"localPosts"`
}

// NodeInfoUsers counts users; for Hearth, the distinct members of its public
// groups that show their member count.
type NodeInfoUsers struct {
	Total int `json:"total"`
}

// NodeStats are the counts NodeInfo publishes.
type NodeStats struct {
	Members int // distinct remote actors that are members of a public group showing its count
	Posts   int // posts the public groups relayed
}

// NewNodeInfo builds the NodeInfo document for schemaVersion ("2.0" or
// "2.1"; the fields Hearth fills are the same in both). Registrations are
// closed because there are no accounts: people join groups from their own
// servers.
func NewNodeInfo(iris IRIs, schemaVersion, softwareVersion string, stats NodeStats) NodeInfo {
	return NodeInfo{
		Version:   schemaVersion,
		Software:  NodeInfoSoftware{Name: SoftwareName, Version: softwareVersion},
		Protocols: []string{"activitypub"},
		Services:  NodeInfoServices{Inbound: []string{}, Outbound: []string{}},
		Usage: NodeInfoUsage{
			Users:      NodeInfoUsers{Total: stats.Members},
			LocalPosts: stats.Posts,
		},
		Metadata: map[string]any{"nodeName": iris.Host()},
	}
}
