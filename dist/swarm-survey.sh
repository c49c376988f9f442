# shellcheck shell=bash
# Read-only, on a manager: whether this engine manages a Swarm, its nodes, the network, and the
# services a deploy decides on ($3...: the slots' services and the proxy's, or the user's own).
# Each service is one line; a service that is not there says so. Included before this: lib-docker.sh.
net=$1
shift
echo "--swarm"
dk info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.NodeID}}'
echo "--nodes"
if ids=$(dk node ls -q 2>/dev/null) && [ -n "$ids" ]; then
  # shellcheck disable=SC2086 # one ID per word
  dk node inspect -f '{{.ID}}|{{.Description.Hostname}}|{{.Status.Addr}}|{{.Status.State}}|{{.Spec.Availability}}|{{.Spec.Role}}|{{.Description.Platform.Architecture}}' $ids
fi
echo "--network"
dk network inspect -f '{{.Driver}} {{.Scope}} {{.Attachable}}' "$net" 2>/dev/null || echo missing
echo "--services"
format='{{.Spec.Name}}|{{.ID}}|{{if .Spec.Mode.Replicated}}{{.Spec.Mode.Replicated.Replicas}}{{else}}global{{end}}|{{.Spec.TaskTemplate.ContainerSpec.Image}}|{{with .Spec.EndpointSpec}}{{.Mode}}{{end}}|{{range .Endpoint.Ports}}{{.PublishedPort}}/{{.PublishMode}} {{end}}|{{with .UpdateStatus}}{{.State}}{{end}}|{{index .Spec.Labels "bluegreen.image"}}|{{with .PreviousSpec}}{{.TaskTemplate.ContainerSpec.Image}}{{end}}'
for name in "$@"; do
  dk service inspect -f "$format" "$name" 2>/dev/null || echo "$name|missing"
done
