{{/* ------------------------------------------------------------------ names and labels */}}

{{- define "mcp-hive.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mcp-hive.fullname" -}}
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

{{- define "mcp-hive.redisName" -}}
{{- printf "%s-redis" (include "mcp-hive.fullname" . | trunc 57 | trimSuffix "-") -}}
{{- end -}}

{{- define "mcp-hive.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mcp-hive.labels" -}}
helm.sh/chart: {{ include "mcp-hive.chart" . }}
app.kubernetes.io/name: {{ include "mcp-hive.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector of the MCP server pods. */}}
{{- define "mcp-hive.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mcp-hive.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end -}}

{{/* Selector of the bundled Redis pod. */}}
{{- define "mcp-hive.redisSelectorLabels" -}}
app.kubernetes.io/name: {{ include "mcp-hive.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: redis
{{- end -}}

{{- define "mcp-hive.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "mcp-hive.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "mcp-hive.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* ------------------------------------------------------------------ derived settings */}}

{{/* "true" when more than one server pod can run at once. */}}
{{- define "mcp-hive.multiReplica" -}}
{{- if or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1) -}}true{{- end -}}
{{- end -}}

{{/* The external base URL: publicUrl, else the first ingress host. */}}
{{- define "mcp-hive.publicUrl" -}}
{{- if .Values.publicUrl -}}
{{- .Values.publicUrl | trimSuffix "/" -}}
{{- else if and .Values.ingress.enabled .Values.ingress.hosts -}}
{{- $host := first .Values.ingress.hosts -}}
{{- $tls := false -}}
{{- range .Values.ingress.tls -}}{{- if has $host .hosts -}}{{- $tls = true -}}{{- end -}}{{- end -}}
{{- printf "%s://%s" (ternary "https" "http" $tls) $host -}}
{{- end -}}
{{- end -}}

{{/* The base of the HTTP+SSE routes: mcpPath without its last segment ("" for /mcp). */}}
{{- define "mcp-hive.legacyBase" -}}
{{- $p := .Values.mcpPath | trimSuffix "/" -}}
{{- trimSuffix (base $p) $p | trimSuffix "/" -}}
{{- end -}}

{{/* Whether OAUTH_CLIENT_SECRET is passed to the server. */}}
{{- define "mcp-hive.needsClientSecret" -}}
{{- $a := .Values.auth -}}
{{- if and (not $a.disabled) (eq $a.mode "introspection") $a.introspection.clientId (ne $a.introspection.clientAuth "none") -}}true{{- end -}}
{{- end -}}

{{/*
The server's settings as a dict (section -> key -> value), rendered to TOML by
"mcp-hive.toml". Secrets are not in it: they come from the Secret as environment variables
(REDIS_URL, MCP_STATE_KEY, OAUTH_CLIENT_SECRET), which override the file.
*/}}
{{- define "mcp-hive.settings" -}}
{{- $v := .Values -}}
{{- $server := dict "port" 3000 "mcp_path" $v.mcpPath "shutdown_timeout_secs" $v.server.shutdownTimeoutSecs "drain_delay_secs" $v.server.drainDelaySecs "workers" $v.server.workers "max_body_bytes" $v.server.maxBodyBytes -}}
{{- $publicUrl := include "mcp-hive.publicUrl" . -}}
{{- if $publicUrl -}}{{- $_ := set $server "public_url" $publicUrl -}}{{- end -}}
{{- $s := dict "server" $server -}}
{{- $_ := set $s "security" (dict "allowed_origins" $v.allowedOrigins) -}}
{{- $_ := set $s "store" (dict "key_prefix" $v.redis.keyPrefix) -}}
{{- $_ := set $s "transports" (dict "sse" $v.legacySse) -}}
{{- $_ := set $s "log" (dict "format" $v.logging.format "level" $v.logging.level) -}}
{{- $_ := set $s "metrics" (dict "path" $v.metrics.path) -}}
{{- $a := $v.auth -}}
{{- $auth := dict "disabled" $a.disabled "mode" $a.mode "required_scope" $a.requiredScope "audiences" $a.audiences -}}
{{- if $a.serverUrl -}}{{- $_ := set $auth "server_url" $a.serverUrl -}}{{- end -}}
{{- $_ := set $auth "introspection" (dict "url" $a.introspection.url "client_id" $a.introspection.clientId "client_auth" $a.introspection.clientAuth) -}}
{{- $_ := set $auth "jwt" (dict "issuer" $a.jwt.issuer "jwks_url" $a.jwt.jwksUrl) -}}
{{- $_ := set $s "auth" $auth -}}
{{- $merged := mergeOverwrite $s (deepCopy $v.config) -}}
{{- toJson $merged -}}
{{- end -}}

{{/* TOML of a settings dict: {{ include "mcp-hive.toml" (dict "table" $dict "prefix" "") }} */}}
{{- define "mcp-hive.toml" -}}
{{- $t := .table -}}
{{- $prefix := .prefix -}}
{{- range $k := keys $t | sortAlpha -}}
{{- $v := index $t $k -}}
{{- if not (kindIs "map" $v) }}
{{ include "mcp-hive.tomlKey" $k }} = {{ include "mcp-hive.tomlValue" (dict "v" $v "key" (printf "%s%s" $prefix $k)) }}
{{- end -}}
{{- end -}}
{{- range $k := keys $t | sortAlpha -}}
{{- $v := index $t $k -}}
{{- if kindIs "map" $v -}}
{{- $name := printf "%s%s" $prefix (include "mcp-hive.tomlKey" $k) }}

[{{ $name }}]
{{- include "mcp-hive.toml" (dict "table" $v "prefix" (printf "%s." $name)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "mcp-hive.tomlKey" -}}
{{- if regexMatch "^[A-Za-z0-9_-]+$" . -}}{{ . }}{{- else -}}{{ toJson . }}{{- end -}}
{{- end -}}

{{/* One TOML value; JSON string escapes are valid TOML basic-string escapes. */}}
{{- define "mcp-hive.tomlValue" -}}
{{- $v := .v -}}
{{- if kindIs "string" $v -}}
{{- toJson $v -}}
{{- else if kindIs "bool" $v -}}
{{- $v -}}
{{- else if or (kindIs "float64" $v) (kindIs "int64" $v) (kindIs "int" $v) -}}
{{- if eq (float64 $v) (floor (float64 $v)) -}}{{- int64 $v -}}{{- else -}}{{- $v -}}{{- end -}}
{{- else if kindIs "slice" $v -}}
[{{- range $i, $e := $v -}}{{- if $i }}, {{ end -}}{{- include "mcp-hive.tomlValue" (dict "v" $e "key" $.key) -}}{{- end -}}]
{{- else if kindIs "map" $v -}}
{ {{- range $i, $k := keys $v | sortAlpha -}}{{- if $i }},{{ end }} {{ include "mcp-hive.tomlKey" $k }} = {{ include "mcp-hive.tomlValue" (dict "v" (index $v $k) "key" $.key) -}}{{- end }} }
{{- else -}}
{{- fail (printf "config: %s has no TOML form (null or unsupported value); remove it or give it a value" .key) -}}
{{- end -}}
{{- end -}}

{{/* ------------------------------------------------------------------ render-time checks */}}

{{/*
Rules the JSON schema cannot express (they span several values). Included by deployment.yaml,
so `helm template` and `helm install` stop with one clear message.
*/}}
{{- define "mcp-hive.validate" -}}
{{- $v := .Values -}}
{{- $multi := include "mcp-hive.multiReplica" . -}}
{{- if and $multi (eq $v.redis.mode "none") -}}
{{- fail "more than one replica (replicaCount > 1 or autoscaling.enabled) needs Redis: with redis.mode=none each pod has its own in-process sessions. Set redis.mode=external (with redis.external.url or the Secret key secretKeys.redisUrl) or redis.mode=bundled, or run one replica." -}}
{{- end -}}
{{- if and $multi (not $v.existingSecret) (not $v.stateKey) -}}
{{- fail "stateKey is required when more than one replica can run: every replica must seal multi round-trip request state with the same key. Generate one with `openssl rand -base64 32` and pass --set stateKey=... (or put it in existingSecret under secretKeys.stateKey)." -}}
{{- end -}}
{{- if $v.existingSecret -}}
{{- if or $v.stateKey $v.auth.introspection.clientSecret $v.redis.external.url -}}
{{- fail (printf "existingSecret %q is set: leave stateKey, auth.introspection.clientSecret and redis.external.url empty and put those values in that Secret (keys %s, %s, %s)." $v.existingSecret $v.secretKeys.stateKey $v.secretKeys.oauthClientSecret $v.secretKeys.redisUrl) -}}
{{- end -}}
{{- else -}}
{{- if and (eq $v.redis.mode "external") (not $v.redis.external.url) -}}
{{- fail "redis.mode=external needs redis.external.url (redis://[user:password@]host:port[/db] or rediss://), or existingSecret with the key secretKeys.redisUrl." -}}
{{- end -}}
{{- if and (include "mcp-hive.needsClientSecret" .) (not $v.auth.introspection.clientSecret) -}}
{{- fail "auth.mode=introspection with auth.introspection.clientId set needs auth.introspection.clientSecret (or existingSecret with the key secretKeys.oauthClientSecret, or clientAuth=none)." -}}
{{- end -}}
{{- end -}}
{{- if and (ne $v.redis.mode "external") $v.redis.external.url -}}
{{- fail (printf "redis.external.url is set but redis.mode is %q: set redis.mode=external to use it." $v.redis.mode) -}}
{{- end -}}
{{- $settings := include "mcp-hive.settings" . | fromJson -}}
{{- $shutdown := int (default 0 $settings.server.shutdown_timeout_secs) -}}
{{- $delay := int (default 0 $settings.server.drain_delay_secs) -}}
{{- $preStop := int $v.lifecycle.preStopSleepSeconds -}}
{{- $drain := add $preStop $delay $shutdown -}}
{{- if le (int $v.terminationGracePeriodSeconds) $drain -}}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be greater than the drain: lifecycle.preStopSleepSeconds (%d) + server.drainDelaySecs (%d) + server.shutdownTimeoutSecs (%d) = %d; otherwise the kubelet kills pods before in-flight requests finish." (int $v.terminationGracePeriodSeconds) $preStop $delay $shutdown $drain) -}}
{{- end -}}
{{- if and $v.podDisruptionBudget.enabled (not (kindIs "invalid" $v.podDisruptionBudget.minAvailable)) (not (kindIs "invalid" $v.podDisruptionBudget.maxUnavailable)) -}}
{{- fail "podDisruptionBudget: set either maxUnavailable or minAvailable (the other to null), not both." -}}
{{- end -}}
{{- if and $v.autoscaling.enabled (gt (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) -}}
{{- fail "autoscaling.minReplicas must not exceed autoscaling.maxReplicas." -}}
{{- end -}}
{{- end -}}
