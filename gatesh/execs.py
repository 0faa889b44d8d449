"""Commands run inside a container or a pod: `docker exec web CMD`, `kubectl exec db-0 -- CMD`.

The command inside is judged like any other, marked as running elsewhere (as `ssh HOST CMD`
is), so its relative paths are not this project's.  Imported on first use by gatesh.wrappers.
"""

from __future__ import annotations

from .model import Word
from .steps import Step, skip_options

__all__ = ["container_exec", "kube_exec"]

# docker's global options that take a value (before the subcommand)
_DOCKER_GLOBAL = ("--config", "--context", "--host", "--log-level", "--tlscacert", "--tlscert",
                  "--tlskey", "--url", "--connection", "--identity", "--root", "--runroot",
                  "--storage-driver", "--namespace", "--address")
_EXEC_LONG = ("--env", "--env-file", "--user", "--workdir", "--detach-keys", "--index",
              "--preserve-fds")
_COMPOSE_LONG = ("--file", "--project-name", "--project-directory", "--profile", "--env-file",
                 "--ansi", "--parallel", "--progress")
_KUBE_LONG = ("--container", "--namespace", "--context", "--kubeconfig", "--filename",
              "--pod-running-timeout", "--cluster", "--user", "--server", "--token",
              "--request-timeout", "--as", "--as-group", "--selector")


def container_exec(argv: tuple[Word, ...]) -> Step | None:
    """docker/podman/nerdctl [compose] exec [OPTIONS] CONTAINER CMD..., docker-compose exec."""
    name = argv[0].value or ""
    rest = argv[1:]
    if name.endswith("-compose"):
        i, _ = skip_options(rest, "fp", _COMPOSE_LONG)
        rest = rest[i:]
        return _exec_after(rest, "service") if rest and rest[0].value == "exec" else None
    i, _ = skip_options(rest, "cHl", _DOCKER_GLOBAL)
    rest = rest[i:]
    if rest and rest[0].value == "container":
        rest = rest[1:]
    elif rest and rest[0].value == "compose":
        i, _ = skip_options(rest[1:], "fp", _COMPOSE_LONG)
        rest = rest[1 + i:]
        return _exec_after(rest, "service") if rest and rest[0].value == "exec" else None
    return _exec_after(rest, "container") if rest and rest[0].value == "exec" else None


def _exec_after(rest: tuple[Word, ...], kind: str) -> Step | None:
    i, _ = skip_options(rest[1:], "euw", _EXEC_LONG)
    after = rest[1 + i:]
    if len(after) < 2:
        return None
    where = f"{kind} {after[0].value or after[0].text}"
    return Step(f"exec in {where}", note=f"runs in {where}", remote=where, argv=after[1:])


def kube_exec(argv: tuple[Word, ...]) -> Step | None:
    """kubectl/oc exec [OPTIONS] POD [-- ] CMD..., oc rsh POD CMD..."""
    rest = argv[1:]
    i, _ = skip_options(rest, "ns", _KUBE_LONG)
    rest = rest[i:]
    if not rest or rest[0].value not in ("exec", "rsh"):
        return None
    words = rest[1:]
    dash = next((k for k, w in enumerate(words) if w.value == "--"), None)
    head = words if dash is None else words[:dash]
    pod = None
    k = 0
    while k < len(head):
        v = head[k].value or ""
        if v[:1] == "-" and len(v) > 1:
            if v in ("-c", "-n", "-f", "-s", "-l") or (v in _KUBE_LONG):
                k += 1  # its value
        elif pod is None:
            pod = k
            if dash is None:
                break  # the old form: kubectl exec POD CMD...
        k += 1
    if pod is None:
        return None
    cmd = words[dash + 1:] if dash is not None else head[pod + 1:]
    if not cmd:
        return None
    where = f"pod {head[pod].value or head[pod].text}"
    return Step(f"exec in {where}", note=f"runs in {where}", remote=where, argv=cmd)
