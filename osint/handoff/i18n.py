"""The words of the hand-off in Chinese and English: labels, what to ask for, how an identifier ties
to a holder. The drafts themselves are templates, one per language (templates/drafts.<lang>.j2)."""

from __future__ import annotations

LANGS = ("zh", "en")

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "title": "Record holders and requests",
        "intro": ("Whom to ask for records, about which identifiers, for which time window, citing which "
                  "evidence. Evidence ids (ev12) are observations in the evidence store: `osint evidence show "
                  "ev12` prints one, `osint evidence verify` re-checks every hash. Case-file items cite the "
                  "section of the complaint they come from. Holders are ordered by how many case items "
                  "(the incident, its IPs, domains and accounts) their records bear on."),
        "case": "Case", "incident": "Incident (UTC)", "exchange": "Exchange", "none": "none",
        "holder": "Holder", "role": "Role", "jurisdiction": "Jurisdiction (from the evidence)",
        "unknown_jurisdiction": "not stated by the evidence", "contacts": "Contacts",
        "identifiers": "Identifiers concerned", "window": "Time window", "asks": "What to ask for",
        "evidence": "Evidence", "case_sources": "Case file", "references": "Links the case file cites",
        "coverage": "Case items covered", "first_seen": "first seen", "last_seen": "last seen",
        "how": "Tied by", "preservation": "Draft: preservation request", "data_request": "Draft: data request",
        "no_holders": "The evidence names no record holder yet: run `osint enrich` first.",
        "role_exchange": "exchange", "role_hosting": "hosting / network operator", "role_registrar": "domain registrar",
        "role_ca": "certificate authority", "role_platform": "platform",
        "basis_registry": "registry record of the netblock", "basis_holder": "the holder's own registry record",
        "basis_certificate_issuer": "certificate issuer field",
        "how_netblock_registrant": "registrant of the netblock (RDAP)", "how_asn_holder": "holder of the announcing ASN",
        "how_shodan_operator": "network operator named by Shodan", "how_registrar": "registrar (WHOIS/RDAP)",
        "how_certificate_issuer": "issuer of the certificate (CT)", "how_certificate_name": "name in a certificate it issued",
        "how_incident": "the incident", "how_broker": "broker programme named by the case file",
        "how_case_account": "account named by the case file",
        "ask_subscriber": "subscriber (customer) records for these identifiers: name, contact details, identity documents, account creation date",
        "ask_payment": "payment records: method, payer, amounts and dates",
        "ask_access_logs": "access logs of the customer account and control panel with source IPs and times, for the window",
        "ask_ip_assignment": "which customer held each address during the window (assignment history)",
        "ask_abuse_reports": "abuse reports received about these identifiers and what was done",
        "ask_registrant_account": "the registrant's account data: name, e-mail, phone, address, creation date",
        "ask_account_logins": "logins to the account with source IPs and times, for the window",
        "ask_dns_changes": "changes to name servers and DNS records during the window",
        "ask_certificate_orders": "the certificate orders: subscriber account, contact, order date",
        "ask_validation_records": "domain-control validation records: method, time, the address that answered",
        "ask_api_key_records": "the victim's API key: creation time, permissions, IP whitelist, linked broker or application",
        "ask_api_key_usage": "every use of the victim's API key in the window: requests, orders, source IPs",
        "ask_counterparty_accounts": "the accounts on the other side of the trades made with the victim's key, with their registration (KYC) data",
        "ask_broker_links": "the broker / Fast API registration of the brand the case file names, and its rebate accounts",
        "ask_account_registration": "the account's registration data: phone, e-mail, creation time and IP",
    },
    "zh": {
        "title": "记录持有方与调证请求",
        "intro": ("向谁调取记录、涉及哪些标识、哪个时间段、依据哪些证据。证据编号（如 ev12）是证据库中的观测记录："
                  "`osint evidence show ev12` 可查看，`osint evidence verify` 复核全部哈希。来自案件材料的内容注明其出处章节。"
                  "持有方按其记录可覆盖的案件要素（事件本身及其 IP、域名、账号）数量排序。"),
        "case": "案件", "incident": "事件时间（UTC）", "exchange": "交易所", "none": "无",
        "holder": "持有方", "role": "类型", "jurisdiction": "所属国家/地区（据证据）",
        "unknown_jurisdiction": "证据未载明", "contacts": "联系方式",
        "identifiers": "涉及的标识", "window": "时间范围", "asks": "请求调取的内容",
        "evidence": "证据", "case_sources": "案件材料", "references": "案件材料引用的链接",
        "coverage": "覆盖的案件要素", "first_seen": "最早", "last_seen": "最晚",
        "how": "关联方式", "preservation": "草稿：证据保全请求", "data_request": "草稿：调取数据请求",
        "no_holders": "证据尚未指向任何记录持有方：请先运行 `osint enrich`。",
        "role_exchange": "交易所", "role_hosting": "托管/网络运营商", "role_registrar": "域名注册商",
        "role_ca": "证书颁发机构", "role_platform": "平台",
        "basis_registry": "IP 段的注册记录", "basis_holder": "持有方自身的注册记录",
        "basis_certificate_issuer": "证书颁发者字段",
        "how_netblock_registrant": "IP 段的注册人（RDAP）", "how_asn_holder": "宣告该 IP 的自治系统（ASN）持有方",
        "how_shodan_operator": "Shodan 记录的网络运营方", "how_registrar": "注册商（WHOIS/RDAP）",
        "how_certificate_issuer": "证书颁发者（证书透明度日志）", "how_certificate_name": "其所颁发证书中的域名",
        "how_incident": "本次事件", "how_broker": "案件材料所述的经纪商计划",
        "how_case_account": "案件材料列出的账号",
        "ask_subscriber": "上述标识的用户（客户）资料：姓名、联系方式、身份证件、开户时间",
        "ask_payment": "付款记录：支付方式、付款人、金额和日期",
        "ask_access_logs": "时间范围内客户账户及控制面板的登录日志（含来源 IP 和时间）",
        "ask_ip_assignment": "时间范围内各 IP 地址分配给哪个客户（分配历史）",
        "ask_abuse_reports": "关于上述标识收到的滥用投诉及处理情况",
        "ask_registrant_account": "注册人账户资料：姓名、电子邮箱、电话、地址、开户时间",
        "ask_account_logins": "时间范围内该账户的登录记录（含来源 IP 和时间）",
        "ask_dns_changes": "时间范围内域名服务器和 DNS 记录的变更记录",
        "ask_certificate_orders": "证书订单：申请账户、联系人、下单时间",
        "ask_validation_records": "域名控制权验证记录：验证方式、时间、应答地址",
        "ask_api_key_records": "受害人 API 密钥的记录：创建时间、权限、IP 白名单、关联的经纪商或应用",
        "ask_api_key_usage": "时间范围内受害人 API 密钥的全部调用：请求、订单、来源 IP",
        "ask_counterparty_accounts": "使用受害人密钥成交的对手方账户及其注册（KYC）资料",
        "ask_broker_links": "案件材料所述品牌的经纪商/Fast API 注册信息及其返佣账户",
        "ask_account_registration": "账号注册资料：手机号、电子邮箱、注册时间及 IP",
    },
}


def messages(lang: str) -> dict[str, str]:
    from ..errors import OsintError

    if lang not in MESSAGES:
        raise OsintError(f"unknown language {lang!r}; choose one of {', '.join(LANGS)}")
    return MESSAGES[lang]
