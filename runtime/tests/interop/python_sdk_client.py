"""Drives pcapsule with the official Python MCP SDK (`pip install mcp`), a
client nobody on this project wrote: initialize, list tools and prompts, get a
prompt, call a tool and read its structured content, and get an isError result
for a bad path. Used by runtime/tests/interop.rs over stdio and HTTP.

usage: python_sdk_client.py stdio PCAPSULE_BINARY REPO_DIR
       python_sdk_client.py http URL TOKEN REPO_DIR
"""

import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

CAPTURE = "fixtures/captures/dns-udp-ethernet.pcap"


async def exercise(session: ClientSession) -> None:
    init = await session.initialize()
    assert init.server_info.name == "pcapsule", init.server_info

    tools = (await session.list_tools()).tools
    names = {t.name for t in tools}
    assert "analyze_capinfos" in names, names
    capinfos = next(t for t in tools if t.name == "analyze_capinfos")
    assert "pcap_file" in capinfos.input_schema["required"], capinfos.input_schema
    assert capinfos.output_schema is not None

    prompts = (await session.list_prompts()).prompts
    assert any(p.name == "capture_overview" for p in prompts), prompts
    prompt = await session.get_prompt("capture_overview")
    assert "analyze_capinfos" in prompt.messages[0].content.text

    result = await session.call_tool("analyze_capinfos", {"pcap_file": CAPTURE})
    assert not result.is_error, result
    assert result.structured_content["packet_count"] == 4, result.structured_content

    if "analyze_dns_packets" in names:
        dns = await session.call_tool("analyze_dns_packets", {"pcap_file": CAPTURE, "limit": 2})
        assert not dns.is_error, dns
        assert dns.structured_content["pagination"]["returned"] == 2, dns.structured_content

    bad = await session.call_tool("analyze_capinfos", {"pcap_file": "fixtures/captures/absent.pcap"})
    assert bad.is_error, bad
    assert bad.structured_content is None, bad
    assert json.loads(bad.content[0].text)["error"]["kind"] == "not_found", bad.content
    print(f"python mcp client: ok ({len(names)} tools, {len(prompts)} prompts)")


async def over_stdio(binary: str, repo: str) -> None:
    params = StdioServerParameters(command=binary, args=["serve", "--allow-dir", "fixtures"], cwd=repo)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await exercise(session)


async def over_http(url: str, token: str) -> None:
    client = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with client:
        async with streamable_http_client(url, http_client=client) as (read, write, *_):
            async with ClientSession(read, write) as session:
                await exercise(session)


def main() -> None:
    mode = sys.argv[1]
    if mode == "stdio":
        asyncio.run(over_stdio(sys.argv[2], sys.argv[3]))
    elif mode == "http":
        asyncio.run(over_http(sys.argv[2], sys.argv[3]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
