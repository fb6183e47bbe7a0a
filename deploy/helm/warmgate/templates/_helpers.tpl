{{/* The chart's name. */}}
{{- define "warmgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The objects' name: <release>-warmgate, or the release name when it already says warmgate. */}}
{{- define "warmgate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The labels that select the gateway's pods (Deployment, Service, PDB, ServiceMonitor). */}}
{{- define "warmgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "warmgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Every object's labels. */}}
{{- define "warmgate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "warmgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Whether Redis is configured: "true" or "". */}}
{{- define "warmgate.redis" -}}
{{- if or .Values.redis.url .Values.redis.secretName -}}true{{- end -}}
{{- end -}}

{{/*
The config file as the gateway reads it: .Values.config with the keys the
chart owns filled in (server.shutdown_delay, server.drain_timeout,
redis.url). Fails when the values set them too, or leave out what serve
needs in a pod.
*/}}
{{- define "warmgate.config" -}}
{{- $cfg := deepCopy (default dict .Values.config) -}}
{{- if hasKey $cfg "listen" -}}
{{- fail "config.listen: the chart sets the listen address from containerPort (WARMGATE_LISTEN=0.0.0.0:<containerPort>); remove config.listen" -}}
{{- end -}}
{{- $server := default dict (get $cfg "server") -}}
{{- if or (hasKey $server "shutdown_delay") (hasKey $server "drain_timeout") -}}
{{- fail "config.server.shutdown_delay and config.server.drain_timeout are set by the chart from shutdown.delaySeconds and shutdown.drainSeconds (which also size terminationGracePeriodSeconds); set those instead" -}}
{{- end -}}
{{- $_ := set $server "shutdown_delay" (printf "%ds" (int .Values.shutdown.delaySeconds)) -}}
{{- $_ := set $server "drain_timeout" (printf "%ds" (int .Values.shutdown.drainSeconds)) -}}
{{- $_ := set $cfg "server" $server -}}
{{- if not (get $cfg "upstreams") -}}
{{- fail "config.upstreams: at least one upstream is needed (name, base_url, api_key_env; docs/config.md)" -}}
{{- end -}}
{{- if not (or (get $cfg "keys") (get $server "allow_open")) -}}
{{- fail "config.keys: the gateway listens on the pod's network, so it needs client keys (key_env or key_sha256); an open gateway needs config.server.allow_open and config.allowed_hosts (docs/config.md)" -}}
{{- end -}}
{{- $redis := default dict (get $cfg "redis") -}}
{{- if hasKey $redis "url" -}}
{{- fail "config.redis.url: set redis.url (a URL without a password) or redis.secretName and redis.secretKey (a Secret holding the URL) instead; the chart passes it as REDIS_URL" -}}
{{- end -}}
{{- if include "warmgate.redis" . -}}
{{- if and .Values.redis.url .Values.redis.secretName -}}
{{- fail "redis: set redis.url or redis.secretName, not both" -}}
{{- end -}}
{{- if regexMatch "^rediss?://[^/@]*:[^/@]*@" .Values.redis.url -}}
{{- fail "redis.url holds a password: put the whole URL in a Secret and set redis.secretName and redis.secretKey instead" -}}
{{- end -}}
{{- $_ := set $redis "url" "${REDIS_URL}" -}}
{{- $_ := set $cfg "redis" $redis -}}
{{- else if $redis -}}
{{- fail "config.redis is set but not redis.url or redis.secretName: the chart passes the Redis URL as REDIS_URL from one of them" -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/*
The environment variables the config needs from the pod: api_key_env,
key_env, admin.key_env and every ${VAR} without a default. Fails when one
is in neither secretEnv nor env.
*/}}
{{- define "warmgate.checkEnv" -}}
{{- $cfg := default dict .Values.config -}}
{{- $need := list -}}
{{- range (default list (get $cfg "upstreams")) -}}
{{- if .api_key_env }}{{ $need = append $need .api_key_env }}{{ end -}}
{{- end -}}
{{- range (default list (get $cfg "keys")) -}}
{{- if .key_env }}{{ $need = append $need .key_env }}{{ end -}}
{{- end -}}
{{- with (get $cfg "admin") -}}
{{- if .key_env }}{{ $need = append $need .key_env }}{{ end -}}
{{- end -}}
{{- range (regexFindAll "\\$?\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}" (toYaml $cfg) -1) -}}
{{- if not (hasPrefix "$$" .) -}}
{{- $need = append $need (trimSuffix "}" (trimPrefix "${" .)) -}}
{{- end -}}
{{- end -}}
{{- $have := list -}}
{{- range .Values.secretEnv }}{{ $have = append $have .name }}{{ end -}}
{{- range .Values.env }}{{ $have = append $have .name }}{{ end -}}
{{- range (uniq $need) -}}
{{- if not (has . $have) -}}
{{- fail (printf "the config names the environment variable %s, which neither secretEnv nor env sets: add {name: %s, secretName: <Secret>, key: <key in it>} to secretEnv" . .) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The secretEnv entry holding the admin key, for the ServiceMonitor. */}}
{{- define "warmgate.adminSecret" -}}
{{- $env := "" -}}
{{- with (get (default dict .Values.config) "admin") }}{{ $env = .key_env }}{{ end -}}
{{- if not $env -}}
{{- fail "serviceMonitor.enabled: /metrics needs the admin key; set config.admin.key_env and give it in secretEnv" -}}
{{- end -}}
{{- $found := dict -}}
{{- range .Values.secretEnv }}{{ if eq .name $env }}{{ $found = . }}{{ end }}{{ end -}}
{{- if not $found -}}
{{- fail (printf "serviceMonitor.enabled: the admin key's variable %s must come from secretEnv, where the ServiceMonitor finds its Secret" $env) -}}
{{- end -}}
{{- toYaml $found -}}
{{- end -}}
