#!/bin/bash
# The automation script for a listening Tentacle that Octopus publishes in its
# documentation: page "Linux Tentacle", section "Automation scripts", "Debian",
# "Listening deployment target" (the same commands appear under "Archive").
#
# The commands below, from create-instance to service, are the published ones:
# the same executable path, options, values, quoting and order. The published
# script's other lines are left out: the comments on its variables, and the
# steps that add Octopus's APT repository and `apt-get install tentacle`, which
# our packages replace (tests/packaging installs them with dpkg). The variables
# keep the published names and default values.
#
# tests/packaging runs it as a user would, substituting only the variable
# values (a real Server's thumbprint, paths in a temporary directory) and the
# executable's path, and neutralising the register-with line, which needs the
# real Octopus Server's HTTP API that this project does not have.

serverUrl="https://my-octopus"
thumbprint=""
apiKey=""
spaceName="Default"
name=$HOSTNAME
environment="Test"
role="web server"
configFilePath="/etc/octopus/default/tentacle-default.config"
applicationPath="/home/Octopus/Applications/"

/opt/octopus/tentacle/Tentacle create-instance --config "$configFilePath"
/opt/octopus/tentacle/Tentacle new-certificate --if-blank
/opt/octopus/tentacle/Tentacle configure --port 10933 --noListen False --reset-trust --app "$applicationPath"
/opt/octopus/tentacle/Tentacle configure --trust $thumbprint
echo "Registering the Tentacle $name with server $serverUrl in environment $environment with role $role"
/opt/octopus/tentacle/Tentacle register-with --server "$serverUrl" --apiKey "$apiKey" --space "$spaceName" --name "$name" --env "$environment" --role "$role"
/opt/octopus/tentacle/Tentacle service --install --start
