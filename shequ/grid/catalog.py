"""The start set of the category tree (shared/DOMAIN.md, "Grid event categories") and of the
official holiday calendar. The seed migration loads it once; afterwards the tree, the deadlines
and the calendar are edited in the platform, and the classifier's corpus is labelled with these
codes (``shequ/grid/data/corpus.csv``).

Deadlines: response in hours, resolution in working days (urgent tickets: hours around the
clock). Safety hazards answer in 2 hours; ordinary requests in 24 hours.
"""

from __future__ import annotations

from typing import NamedTuple


class Seed(NamedTuple):
    code: str
    name: str
    name_zh: str
    department_kind: str  # core.DepartmentKind value; "" = the community handles it itself
    response_hours: int
    resolution_days: int
    keywords: str = ""


MAIN_TYPES: list[Seed] = [
    Seed("livelihood", "Livelihood services", "民生服务", "", 24, 10),
    Seed("dispute", "Disputes", "矛盾纠纷", "justice", 24, 15),
    Seed("security", "Public security", "治安防控", "police", 12, 10),
    Seed("safety", "Safety hazards", "安全隐患", "emergency", 2, 3),
    Seed("environment", "Environment and sanitation", "环境卫生", "urban", 24, 5),
    Seed("cityscape", "City appearance", "市容市貌", "urban", 24, 7),
    Seed("special", "Special groups", "特殊人群服务管理", "civil", 24, 10),
    Seed("opinion", "Public opinion", "社情民意", "", 24, 10),
    Seed("incident", "Emergencies", "突发事件", "emergency", 1, 1),
    Seed("other", "Other", "其他", "", 24, 10),
]

# (main type code, leaf)
LEAVES: list[tuple[str, Seed]] = [
    (
        "livelihood",
        Seed(
            "livelihood.education",
            "School enrolment and education",
            "教育入学",
            "education",
            24,
            10,
            "入学 学位 学校 幼儿园 转学",
        ),
    ),
    (
        "livelihood",
        Seed(
            "livelihood.social_security",
            "Social and medical insurance",
            "社保医保",
            "hrss",
            24,
            10,
            "社保 医保 养老保险 缴费 报销",
        ),
    ),
    (
        "livelihood",
        Seed("livelihood.employment", "Employment", "就业创业", "hrss", 24, 10, "就业 招聘 培训 失业 创业"),
    ),
    (
        "livelihood",
        Seed(
            "livelihood.medical", "Medical care", "医疗卫生", "health", 24, 10, "看病 卫生服务中心 疫苗 体检"
        ),
    ),
    (
        "livelihood",
        Seed(
            "livelihood.housing",
            "Housing security",
            "住房保障",
            "housing",
            24,
            15,
            "公租房 廉租房 住房补贴 老旧小区改造",
        ),
    ),
    (
        "livelihood",
        Seed("livelihood.transport", "Transport", "交通出行", "transport", 24, 10, "公交 站点 红绿灯 道路"),
    ),
    (
        "livelihood",
        Seed(
            "livelihood.documents",
            "Documents and certificates",
            "证件办理",
            "police",
            24,
            5,
            "身份证 户口 居住证 证明",
        ),
    ),
    (
        "livelihood",
        Seed(
            "livelihood.assistance",
            "Social assistance",
            "社会救助",
            "civil",
            24,
            10,
            "低保 特困 救助 临时救助",
        ),
    ),
    (
        "livelihood",
        Seed(
            "livelihood.elderly",
            "Elderly care",
            "养老服务",
            "civil",
            24,
            10,
            "老人 养老 助餐 居家养老 高龄补贴",
        ),
    ),
    (
        "livelihood",
        Seed("livelihood.water", "Water supply", "供水", "water", 12, 3, "停水 水压 水管 漏水 水质"),
    ),
    ("livelihood", Seed("livelihood.power", "Power supply", "供电", "power", 12, 3, "停电 电压 电表 跳闸")),
    (
        "livelihood",
        Seed("livelihood.gas_supply", "Gas supply service", "供气", "gas", 12, 3, "燃气开户 停气 燃气费"),
    ),
    (
        "dispute",
        Seed("dispute.family", "Family disputes", "婚姻家庭纠纷", "justice", 24, 15, "夫妻 离婚 赡养 家暴"),
    ),
    (
        "dispute",
        Seed(
            "dispute.neighbour",
            "Neighbour disputes",
            "邻里纠纷",
            "justice",
            24,
            10,
            "邻居 楼上 漏水 占用 楼道",
        ),
    ),
    (
        "dispute",
        Seed(
            "dispute.property_mgmt",
            "Property management disputes",
            "物业纠纷",
            "property",
            24,
            10,
            "物业 物业费 电梯 保安",
        ),
    ),
    (
        "dispute",
        Seed("dispute.labour", "Labour disputes", "劳资纠纷", "hrss", 24, 15, "工资 欠薪 讨薪 劳动合同"),
    ),
    ("dispute", Seed("dispute.land", "Land disputes", "土地纠纷", "land", 24, 15, "宅基地 土地 承包 界址")),
    (
        "dispute",
        Seed(
            "dispute.demolition",
            "Expropriation and demolition disputes",
            "征地拆迁纠纷",
            "housing",
            24,
            15,
            "拆迁 征收 补偿 安置",
        ),
    ),
    (
        "dispute",
        Seed("dispute.medical", "Medical disputes", "医疗纠纷", "health", 24, 15, "医院 医疗事故 误诊"),
    ),
    (
        "dispute",
        Seed("dispute.consumer", "Consumer disputes", "消费纠纷", "market", 24, 10, "退款 商家 预付卡 假货"),
    ),
    (
        "security",
        Seed("security.physical", "Physical defence", "人防物防", "police", 12, 10, "巡逻 门禁 围墙 防盗"),
    ),
    (
        "security",
        Seed("security.technical", "Technical defence", "技防设施", "police", 24, 10, "监控 摄像头 门禁系统"),
    ),
    (
        "security",
        Seed("security.crime_clue", "Crime clues", "违法犯罪线索", "police", 2, 5, "赌博 吸毒 盗窃 传销"),
    ),
    (
        "security",
        Seed(
            "security.public_order", "Public order risks", "治安隐患", "police", 12, 5, "打架 聚集 醉酒 滋事"
        ),
    ),
    ("security", Seed("security.fraud", "Telecom fraud", "电信诈骗", "police", 2, 5, "诈骗 电话 转账 刷单")),
    (
        "safety",
        Seed("safety.fire", "Fire hazards", "消防隐患", "fire", 2, 3, "消防通道 灭火器 电动车 充电 堵塞"),
    ),
    ("safety", Seed("safety.gas", "Gas hazards", "燃气隐患", "gas", 2, 1, "燃气泄漏 煤气 气味 软管")),
    (
        "safety",
        Seed(
            "safety.electrical", "Electrical hazards", "用电隐患", "power", 2, 3, "电线 私拉乱接 漏电 配电箱"
        ),
    ),
    (
        "safety",
        Seed("safety.building", "Building safety", "房屋安全", "housing", 2, 5, "裂缝 危房 墙体 脱落"),
    ),
    (
        "safety",
        Seed("safety.hazardous", "Hazardous goods", "危化品", "emergency", 2, 3, "危化品 液化气 油库 化学品"),
    ),
    ("safety", Seed("safety.food", "Food safety", "食品安全", "market", 4, 5, "过期 食品 餐馆 卫生许可")),
    (
        "environment",
        Seed(
            "environment.garbage", "Garbage collection", "垃圾清运", "urban", 24, 3, "垃圾 清运 垃圾桶 分类"
        ),
    ),
    (
        "environment",
        Seed("environment.sewage", "Sewage", "污水排放", "environ", 24, 5, "污水 下水道 化粪池 堵塞"),
    ),
    (
        "environment",
        Seed("environment.noise", "Noise", "噪音扰民", "environ", 12, 3, "噪音 施工 广场舞 夜间"),
    ),
    (
        "environment",
        Seed(
            "environment.pollution",
            "Air pollution and fumes",
            "大气污染",
            "environ",
            24,
            5,
            "油烟 焚烧 粉尘 异味",
        ),
    ),
    (
        "environment",
        Seed("environment.greening", "Greening", "绿化养护", "urban", 24, 7, "树木 绿化带 修剪 倒伏"),
    ),
    (
        "cityscape",
        Seed(
            "cityscape.illegal_building",
            "Illegal construction",
            "违章搭建",
            "urban",
            24,
            10,
            "违建 搭建 加层 雨棚",
        ),
    ),
    (
        "cityscape",
        Seed(
            "cityscape.street_order",
            "Street vending and occupation",
            "占道经营",
            "urban",
            24,
            3,
            "摆摊 占道 流动摊贩",
        ),
    ),
    (
        "cityscape",
        Seed("cityscape.ads", "Illegal advertising", "乱贴广告", "urban", 24, 3, "小广告 牛皮癣 横幅 招牌"),
    ),
    (
        "cityscape",
        Seed(
            "cityscape.parking",
            "Illegal parking",
            "违规停车",
            "urban",
            12,
            2,
            "停车 占用车位 僵尸车 共享单车",
        ),
    ),
    (
        "cityscape",
        Seed(
            "cityscape.facilities",
            "Damaged public facilities",
            "市政设施损坏",
            "urban",
            24,
            5,
            "路灯 井盖 路面 破损",
        ),
    ),
    (
        "special",
        Seed(
            "special.care", "Care and assistance", "关爱帮扶", "civil", 24, 10, "独居老人 残疾 留守儿童 困难"
        ),
    ),
    (
        "special",
        Seed(
            "special.correction", "Community correction", "社区矫正", "justice", 12, 5, "矫正 刑满释放 帮教"
        ),
    ),
    (
        "special",
        Seed("special.mental", "Mental health", "精神障碍患者管理", "health", 4, 3, "精神 发病 肇事 监护"),
    ),
    ("opinion", Seed("opinion.suggestion", "Suggestions", "意见建议", "", 24, 10, "建议 希望 增设 改进")),
    (
        "opinion",
        Seed(
            "opinion.complaint", "Complaints about service", "服务投诉", "", 24, 10, "态度 不作为 投诉 办事"
        ),
    ),
    (
        "incident",
        Seed(
            "incident.disaster", "Natural disasters", "自然灾害", "emergency", 1, 1, "暴雨 内涝 山体滑坡 塌方"
        ),
    ),
    (
        "incident",
        Seed("incident.accident", "Accidents", "安全事故", "emergency", 1, 1, "事故 坍塌 火灾 受伤"),
    ),
    (
        "incident",
        Seed(
            "incident.public_health", "Public health events", "公共卫生事件", "health", 1, 2, "疫情 中毒 传染"
        ),
    ),
    ("other", Seed("other.other", "Other matters", "其他事项", "", 24, 10, "")),
]

# The 2026 arrangement after the State Council's notice (国务院办公厅关于2026年部分节假日安排的
# 通知), weekdays off and weekend days worked in exchange only. Typed in for the start set: an
# operator checks it against the published notice and enters each new year's on the holidays page.
HOLIDAYS_2026: list[tuple[str, str, bool]] = [
    ("2026-01-01", "元旦", False),
    ("2026-01-02", "元旦", False),
    ("2026-01-04", "元旦调休", True),
    ("2026-02-14", "春节调休", True),
    ("2026-02-16", "春节", False),
    ("2026-02-17", "春节", False),
    ("2026-02-18", "春节", False),
    ("2026-02-19", "春节", False),
    ("2026-02-20", "春节", False),
    ("2026-02-23", "春节", False),
    ("2026-02-28", "春节调休", True),
    ("2026-04-06", "清明节", False),
    ("2026-05-01", "劳动节", False),
    ("2026-05-04", "劳动节", False),
    ("2026-05-05", "劳动节", False),
    ("2026-05-09", "劳动节调休", True),
    ("2026-06-19", "端午节", False),
    ("2026-09-20", "国庆节调休", True),
    ("2026-09-25", "中秋节", False),
    ("2026-10-01", "国庆节", False),
    ("2026-10-02", "国庆节", False),
    ("2026-10-05", "国庆节", False),
    ("2026-10-06", "国庆节", False),
    ("2026-10-07", "国庆节", False),
    ("2026-10-10", "国庆节调休", True),
]
