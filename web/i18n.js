// Texts in English and Simplified Chinese. The page follows the browser's language until
// the user picks one; the choice is kept in localStorage.
const texts = {
  en: {
    "language": "Language", "logout": "Sign out", "nav.sessions": "Sessions", "nav.keys": "SSH keys",
    "login.title": "Sign in to gpupool", "login.user": "User name", "login.password": "Password",
    "login.submit": "Sign in",
    "pool.title": "Available GPUs", "pool.model": "GPU model", "pool.free": "Free", "pool.total": "Total",
    "pool.shared": "Shared", "pool.freeMemory": "Free GPU memory", "pool.queue": "Waiting requests: {n}",
    "pool.simulated": "Simulated GPUs: no real GPU is given to sessions.",
    "request.title": "Request a GPU session", "request.model": "GPU model", "request.any": "Any model",
    "request.kind": "GPU", "request.whole": "Whole GPUs", "request.share": "Share of one GPU",
    "request.gpus": "Number of GPUs", "request.memory": "GPU memory (GB)", "request.cpus": "CPUs",
    "request.ram": "Memory (GB)", "request.image": "Image", "request.hours": "Time limit (hours, optional)",
    "request.submit": "Request GPU", "request.cuda": "needs CUDA {cuda}", "request.cpu": "CPU only",
    "sessions.title": "My sessions", "sessions.none": "No sessions yet.", "sessions.state": "State",
    "sessions.gpus": "GPUs", "sessions.image": "Image", "sessions.actions": "Actions",
    "sessions.open": "Open Jupyter", "sessions.stop": "Stop", "sessions.copy": "Copy",
    "sessions.copied": "Copied", "sessions.hostKey": "Host key", "sessions.position": "Why waiting",
    "sessions.share": "{gb} GB of one GPU",
    "state.queued": "queued", "state.scheduled": "scheduled", "state.starting": "starting",
    "state.running": "running", "state.stopping": "stopping", "state.ended": "ended",
    "keys.title": "SSH public keys", "keys.help": "One key per line (ssh-ed25519, ssh-rsa or ecdsa).",
    "keys.save": "Save keys", "keys.saved": "Keys saved",
    "error.required": "Please fill in {field}.",
    "nav.admin": "Admin", "admin.title": "Administration", "admin.nodes": "Nodes",
    "admin.node": "Node", "admin.state": "State", "admin.gpus": "GPUs free / total", "admin.cpus": "CPUs",
    "admin.memory": "Memory", "admin.driver": "Driver CUDA", "admin.labels": "Labels",
    "admin.drain": "Drain", "admin.undrain": "Take new sessions", "admin.drained": "drained",
    "admin.simulated": "simulated", "admin.quotas": "Quotas", "admin.scope": "For",
    "admin.maxGpus": "GPUs", "admin.maxSessions": "Sessions", "admin.maxMemory": "Shared GPU memory",
    "admin.maxHours": "Session hours", "admin.byModel": "Per model", "admin.noQuotas": "No quotas set.",
    "admin.images": "Images", "admin.image": "Tag", "admin.framework": "Framework", "admin.cuda": "CUDA",
    "admin.status": "Status", "admin.up": "up", "admin.down": "down",
    "admin.users": "Users", "admin.user": "User", "admin.role": "Role", "admin.roleAdmin": "administrator",
    "admin.roleUser": "user", "admin.groups": "Groups", "admin.group": "Group", "admin.members": "Members",
    "admin.membersOf": "Members of {group}", "admin.membersHelp": "User names, separated by commas.",
    "admin.save": "Save", "admin.saved": "Saved", "admin.addUser": "Add user", "admin.newUserName": "New user name",
    "admin.newUserPassword": "Initial password", "admin.newUserAdmin": "Administrator",
    "admin.newGroup": "New group", "admin.groupName": "Group name", "admin.create": "Create",
    "admin.noGroups": "No groups yet.",
    "admin.gpusTitle": "GPUs", "admin.gpu": "GPU", "admin.model": "Model", "admin.heldBy": "Held by",
    "admin.idle": "free", "admin.utilization": "Utilisation", "admin.gpuMemory": "GPU memory used",
    "admin.temperature": "Temperature", "admin.power": "Power",
    "nav.usage": "Usage", "sessions.cost": "Cost so far: {cost} credits ({rate} an hour)",
    "time.hm": "{h} h {m} min", "time.m": "{m} min", "time.s": "{s} s",
    "usage.title": "Usage", "usage.total": "Total: {cost} credits", "usage.none": "Nothing has run yet.",
    "usage.model": "GPU model", "usage.gpuHours": "GPU-hours", "usage.cost": "Cost (credits)",
    "usage.sessions": "Sessions", "usage.session": "Session", "usage.started": "Started", "usage.ran": "Ran",
    "usage.rate": "Credits per hour", "usage.prices": "Prices per GPU-hour", "usage.free": "Every GPU is free of charge.",
    "admin.prices": "Prices", "admin.perGpuHour": "Credits per GPU-hour", "admin.noPrice": "free",
    "admin.priceOf": "Price of {model}", "admin.setPrice": "Set", "admin.priceNeeded": "Enter a price (0 for free).",
    "admin.pricesHelp": "A session pays the price of its GPUs' model when it is placed, for each second it runs; a share pays its fraction of the GPU's memory.",
    "balance.title": "Balance: {balance} credits",
    "balance.prepaid": "Prepaid: sessions that cost money need a balance above zero, and stop when it runs out. Running sessions have used {running} so far (included).",
    "balance.postpaid": "Costs are recorded; the balance may go below zero. Running sessions have used {running} so far (included).",
    "balance.none": "No top-ups or charges yet.", "balance.at": "When", "balance.kind": "Entry",
    "balance.amount": "Credits", "balance.what": "Session or note",
    "ledger.top_up": "top-up", "ledger.adjustment": "adjustment", "ledger.charge": "charge",
    "admin.balance": "Balance", "admin.topUp": "Top up", "admin.topUpOf": "Credits for {user}",
    "admin.setQuota": "Set quota", "admin.quotaName": "User or group name", "admin.maxMemoryGb": "Shared GPU memory (GB)",
    "admin.quotaHelp": "The whole quota is replaced: a limit left empty is lifted. Per-model limits: gpupool admin quota-set --model-gpus.",
  },
  "zh-CN": {
    "language": "语言", "logout": "退出", "nav.sessions": "会话", "nav.keys": "SSH 密钥",
    "login.title": "登录 gpupool", "login.user": "用户名", "login.password": "密码", "login.submit": "登录",
    "pool.title": "可用 GPU", "pool.model": "GPU 型号", "pool.free": "空闲", "pool.total": "总数",
    "pool.shared": "共享中", "pool.freeMemory": "空闲显存", "pool.queue": "排队中的请求：{n}",
    "pool.simulated": "模拟 GPU：会话不会获得真实 GPU。",
    "request.title": "申请 GPU 会话", "request.model": "GPU 型号", "request.any": "任意型号",
    "request.kind": "GPU", "request.whole": "整卡", "request.share": "单卡的一部分显存",
    "request.gpus": "GPU 数量", "request.memory": "显存（GB）", "request.cpus": "CPU 核数",
    "request.ram": "内存（GB）", "request.image": "镜像", "request.hours": "时间上限（小时，可选）",
    "request.submit": "申请 GPU", "request.cuda": "需要 CUDA {cuda}", "request.cpu": "仅 CPU",
    "sessions.title": "我的会话", "sessions.none": "还没有会话。", "sessions.state": "状态",
    "sessions.gpus": "GPU", "sessions.image": "镜像", "sessions.actions": "操作",
    "sessions.open": "打开 Jupyter", "sessions.stop": "停止", "sessions.copy": "复制",
    "sessions.copied": "已复制", "sessions.hostKey": "主机密钥", "sessions.position": "等待原因",
    "sessions.share": "单卡 {gb} GB 显存",
    "state.queued": "排队中", "state.scheduled": "已调度", "state.starting": "启动中",
    "state.running": "运行中", "state.stopping": "停止中", "state.ended": "已结束",
    "keys.title": "SSH 公钥", "keys.help": "每行一个公钥（ssh-ed25519、ssh-rsa 或 ecdsa）。",
    "keys.save": "保存公钥", "keys.saved": "公钥已保存",
    "error.required": "请填写{field}。",
    "nav.admin": "管理", "admin.title": "管理", "admin.nodes": "节点",
    "admin.node": "节点", "admin.state": "状态", "admin.gpus": "空闲 / 总 GPU", "admin.cpus": "CPU",
    "admin.memory": "内存", "admin.driver": "驱动 CUDA", "admin.labels": "标签",
    "admin.drain": "停止接收新会话", "admin.undrain": "恢复接收新会话", "admin.drained": "已停止接收",
    "admin.simulated": "模拟", "admin.quotas": "配额", "admin.scope": "对象",
    "admin.maxGpus": "GPU", "admin.maxSessions": "会话", "admin.maxMemory": "共享显存",
    "admin.maxHours": "会话时长", "admin.byModel": "按型号", "admin.noQuotas": "尚未设置配额。",
    "admin.images": "镜像", "admin.image": "标签", "admin.framework": "框架", "admin.cuda": "CUDA",
    "admin.status": "状态", "admin.up": "在线", "admin.down": "离线",
    "admin.users": "用户", "admin.user": "用户", "admin.role": "角色", "admin.roleAdmin": "管理员",
    "admin.roleUser": "普通用户", "admin.groups": "用户组", "admin.group": "用户组", "admin.members": "成员",
    "admin.membersOf": "{group} 的成员", "admin.membersHelp": "用户名，以逗号分隔。",
    "admin.save": "保存", "admin.saved": "已保存", "admin.addUser": "添加用户", "admin.newUserName": "新用户名",
    "admin.newUserPassword": "初始密码", "admin.newUserAdmin": "管理员",
    "admin.newGroup": "新建用户组", "admin.groupName": "用户组名", "admin.create": "创建",
    "admin.noGroups": "尚无用户组。",
    "admin.gpusTitle": "GPU", "admin.gpu": "GPU", "admin.model": "型号", "admin.heldBy": "使用者",
    "admin.idle": "空闲", "admin.utilization": "利用率", "admin.gpuMemory": "已用显存",
    "admin.temperature": "温度", "admin.power": "功耗",
    "nav.usage": "用量", "sessions.cost": "已产生费用：{cost} 点数（每小时 {rate}）",
    "time.hm": "{h} 小时 {m} 分", "time.m": "{m} 分钟", "time.s": "{s} 秒",
    "usage.title": "用量", "usage.total": "合计：{cost} 点数", "usage.none": "尚无运行记录。",
    "usage.model": "GPU 型号", "usage.gpuHours": "GPU 小时", "usage.cost": "费用（点数）",
    "usage.sessions": "会话", "usage.session": "会话", "usage.started": "开始时间", "usage.ran": "运行时长",
    "usage.rate": "每小时点数", "usage.prices": "每 GPU 小时价格", "usage.free": "所有 GPU 均免费。",
    "admin.prices": "价格", "admin.perGpuHour": "每 GPU 小时点数", "admin.noPrice": "免费",
    "admin.priceOf": "{model} 的价格", "admin.setPrice": "设置", "admin.priceNeeded": "请输入价格（0 表示免费）。",
    "admin.pricesHelp": "会话在被分配时按其 GPU 型号的价格计费，按运行秒数收费；共享 GPU 按所占显存比例计费。",
    "balance.title": "余额：{balance} 点数",
    "balance.prepaid": "预付费：收费的会话需要余额大于零，余额用尽时会话停止。运行中的会话目前已用 {running}（已计入）。",
    "balance.postpaid": "费用会被记录，余额可以为负。运行中的会话目前已用 {running}（已计入）。",
    "balance.none": "尚无充值或扣费记录。", "balance.at": "时间", "balance.kind": "类型",
    "balance.amount": "点数", "balance.what": "会话或备注",
    "ledger.top_up": "充值", "ledger.adjustment": "调整", "ledger.charge": "扣费",
    "admin.balance": "余额", "admin.topUp": "充值", "admin.topUpOf": "为 {user} 充值点数",
    "admin.setQuota": "设置配额", "admin.quotaName": "用户名或用户组名", "admin.maxMemoryGb": "共享显存（GB）",
    "admin.quotaHelp": "整个配额会被替换：留空的限制即取消。按型号的限制：gpupool admin quota-set --model-gpus。",
  },
};

export function pickLanguage() {
  const saved = localStorage.getItem("gpupool.language");
  if (saved && texts[saved]) return saved;
  return (navigator.languages || [navigator.language]).some((l) => l && l.toLowerCase().startsWith("zh"))
    ? "zh-CN" : "en";
}

let language = "en";

export function setLanguage(chosen, remember) {
  language = texts[chosen] ? chosen : "en";
  if (remember) localStorage.setItem("gpupool.language", language);
  document.documentElement.lang = language;
  for (const element of document.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
}

export function t(key, values = {}) {
  const text = texts[language][key] ?? texts.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

export function currentLanguage() { return language; }
