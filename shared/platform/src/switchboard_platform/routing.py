"""How a service's app finds the route for a request: routes flat in the app's router, and the routes whose path
has no parameter found by one dictionary lookup.

FastAPI (0.165) keeps each ``include_router`` as a branch that it walks on every request: every branch asks its
router whether it matches (recomputing the routes' version and swapping context keys in the scope around each
route's regex), then the chosen branch matches again to handle. Ingress's ``POST /v1/events``, its hottest
route and the last one declared, spent ~40 µs of CPU there, a third of the request in-process
(``bench/ingress/asgi.py``). ``include_routes`` puts a router's routes into the app's own router instead, as
``@app.post`` would, and ``ExactPaths`` answers for fixed paths before the router walks its list.

Nothing about which route answers changes: ``ExactPaths`` holds, for each (method, path) of a route without
path parameters, the route the router's own first-match walk picks for it, worked out by that walk when the
index is built. A request it does not know (a path with parameters, an unknown path, a method the path does
not allow, a ``root_path``) falls through to the walk, which still answers 404, 405 and redirects as before.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.routing import BaseRoute, Match, NoMatchFound, Route
from starlette.types import Receive, Scope, Send


def include_routes(app: FastAPI, router: APIRouter) -> None:
    """``app.include_router(router)`` with the router's routes added to the app's router itself.

    The routes are the router's own objects: everything the router gave them when they were declared (route
    class, prefix, tags, dependencies, responses) is already on them. What ``include_router``'s own arguments
    would add (a prefix, dependencies, ``app.dependency_overrides``) does not apply; no service uses them."""
    if router.on_startup or router.on_shutdown:
        raise TypeError("a router with start-up or shut-down handlers must be included with include_router")
    app.router.routes.extend(router.routes)


class ExactPaths(BaseRoute):
    """The first route of an app's router: for a request whose (method, path) it knows, the route the router
    would pick, found with one lookup. ``install`` puts it in place; it is built on the first request, when
    every route is declared, and again whenever the router's route list changes length."""

    def __init__(self, routes: list[BaseRoute]) -> None:
        self.routes = routes
        self._index: dict[tuple[str, str], tuple[Route, dict[str, Any]]] = {}
        self._built_for = -1

    @classmethod
    def install(cls, app: FastAPI) -> ExactPaths:
        index = cls(app.router.routes)
        app.router.routes.insert(0, index)
        return index

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope.get("root_path"):
            return Match.NONE, {}
        if len(self.routes) != self._built_for:
            self._build()
        found = self._index.get((scope["method"], scope["path"]))
        if found is None:
            return Match.NONE, {}
        route, path_params = found
        # What the route's own ``matches`` returns (the path may fill another route's parameters).
        return Match.FULL, {"endpoint": route.endpoint, "path_params": dict(path_params), "route": route}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: Route = scope["route"]
        await route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)  # the routes themselves answer, further down the list

    def _build(self) -> None:
        """Walk the routes as the router does, once per known (method, path): the first full match wins.

        Only the routes before the first one that is not a plain ``Route`` are indexed: a mount, a host or an
        included router may match on more than the method and the path."""
        routes: list[Route] = []
        for route in self.routes:
            if route is self:
                continue
            if not isinstance(route, Route):
                break
            routes.append(route)
        index: dict[tuple[str, str], tuple[Route, dict[str, Any]]] = {}
        for route in routes:
            if route.param_convertors or not route.methods:
                continue
            for method in route.methods:
                probe = {"type": "http", "method": method, "path": route.path, "root_path": ""}
                # A partial match (the path, another method) is only the router's fallback: it goes on
                # looking for a full one.
                for candidate in routes:
                    match, child_scope = candidate.matches(probe)
                    if match is Match.FULL:
                        index[(method, route.path)] = (candidate, child_scope["path_params"])
                        break
        self._index = index
        self._built_for = len(self.routes)
