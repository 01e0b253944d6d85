"""The lab world's YouTube: a channel's about page, with its data embedded as `var ytInitialData = {...};`.

The object is built here in the shape YouTube's web client receives (channelMetadataRenderer in
`metadata`, the about panel's aboutChannelViewModel deep in an engagement panel, links as attributed
text opening youtube.com/redirect?q=...). Every value is synthetic.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from ..http_server import HTTPRequest, Response

NAME = "youtube"
CHANNEL_ID = "UCLabBotExample000000001"  # 24 characters, as channel ids are


def _link(title: str, url: str, shown: str) -> dict[str, Any]:
    redirect = f"https://www.youtube.com/redirect?event=channel_description&q={quote(url, safe='')}"
    return {"channelExternalLinkViewModel": {
        "title": {"content": title},
        "link": {"content": shown, "commandRuns": [{"startIndex": 0, "length": len(shown), "onTap": {
            "innertubeCommand": {"urlEndpoint": {"url": redirect, "target": "TARGET_NEW_WINDOW"}}}}]},
        "favicon": {"sources": [{"url": "https://yt3.example.org/favicon.png", "width": 16, "height": 16}]}}}


def initial_data() -> dict[str, Any]:
    about = {
        "description": "LabBot 实验蚁官方频道（合成测试数据）。教程与公告。商务：business@example.com",
        "country": "China", "subscriberCountText": "1.2K subscribers", "viewCountText": "34,567 views",
        "joinedDateText": {"content": "Joined Mar 5, 2021"}, "canonicalChannelUrl": "http://www.youtube.com/@labbot_example",
        "channelId": CHANNEL_ID, "videoCountText": "42 videos",
        "links": [_link("Website", "https://www.example.com/", "example.com"),
                  _link("Telegram", "https://t.me/labbot_example", "t.me/labbot_example"),
                  _link("X", "https://x.com/labbot_news", "x.com/labbot_news")],  # not the case's X account
    }
    panel = {"engagementPanelSectionListRenderer": {"content": {"sectionListRenderer": {"contents": [
        {"itemSectionRenderer": {"contents": [{"aboutChannelRenderer": {"metadata": {
            "aboutChannelViewModel": about}}}]}}]}}}}
    return {
        "responseContext": {"serviceTrackingParams": []},
        "header": {"pageHeaderRenderer": {"pageTitle": "LabBot 实验蚁"}},
        "metadata": {"channelMetadataRenderer": {
            "title": "LabBot 实验蚁", "description": "LabBot 实验蚁官方频道（合成测试数据）。",
            "externalId": CHANNEL_ID, "keywords": "LabBot quant", "vanityChannelUrl": "http://www.youtube.com/@labbot_example",
            "channelUrl": f"https://www.youtube.com/channel/{CHANNEL_ID}", "isFamilySafe": True}},
        "onResponseReceivedEndpoints": [{"showEngagementPanelEndpoint": {"engagementPanel": panel}}],
    }


def channel_page() -> bytes:
    data = json.dumps(initial_data(), ensure_ascii=False)
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>LabBot 实验蚁 - YouTube</title>"
            "</head><body><!-- Synthetic lab fixture in the shape of a YouTube channel page. -->"
            f"<script nonce=\"lab\">var ytInitialData = {data};</script>"
            "<script nonce=\"lab\">if (window.ytcsi) {window.ytcsi.tick('pdr', null, '');}</script>"
            "</body></html>").encode("utf-8")


def answer(request: HTTPRequest) -> Response:
    if request.path in ("/@labbot_example/about", f"/channel/{CHANNEL_ID}/about"):
        return Response(200, channel_page(), content_type="text/html; charset=utf-8")
    return Response(404, "<html><body>This page isn't available.</body></html>", content_type="text/html")


def install(lab: Any) -> None:
    lab.http.add_route("GET", "/@", answer, prefix=True)
    lab.http.add_route("GET", "/channel/", answer, prefix=True)


def settings(lab: Any) -> dict[str, Any]:
    return {"endpoint": lab.http.url}
