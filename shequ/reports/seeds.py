"""The official report templates every community fills (统一制表), seeded by ``seed_templates``.

Their layouts follow the forms Hunan's communities are asked for by civil affairs, the grid office,
government services and veterans' affairs: numbered 湘社区统N表, with 合计/男/女 columns (or the
channels, modes and severities a form splits by), ratios computed from their parts, and manual
fields for what the platform does not hold (staff, floor areas, amounts paid, facilities).
"""

from __future__ import annotations

from typing import Any

PEOPLE = "registry.residents"
HOUSEHOLDS = "registry.households"
VISITS = "registry.visits"

SEX_COLUMNS = [
    {"key": "total", "title": "合计"},
    {"key": "male", "title": "男", "filters": {"gender": "male"}},
    {"key": "female", "title": "女", "filters": {"gender": "female"}},
]


def _stat(
    key: str, title: str, stat_key: str, unit: str, columns: list[str] | None, filters: dict[str, str]
) -> dict[str, Any]:
    row: dict[str, Any] = {"key": key, "title": title, "stat": stat_key}
    if unit:
        row["unit"] = unit
    if filters:
        row["filters"] = filters
    if columns:
        row["columns"] = columns
    return row


def stat(key: str, title: str, stat_key: str, unit: str = "", **filters: str) -> dict[str, Any]:
    """A computed row with a cell in every column."""
    return _stat(key, title, stat_key, unit, None, filters)


def people(key: str, title: str, **filters: str) -> dict[str, Any]:
    return _stat(key, title, PEOPLE, "人", None, filters)


def total(key: str, title: str, stat_key: str, unit: str, **filters: str) -> dict[str, Any]:
    """A computed row with a 合计 cell only (no 男/女 split)."""
    return _stat(key, title, stat_key, unit, ["total"], filters)


def ratio(key: str, title: str, numerator: str, denominator: str) -> dict[str, Any]:
    return {"key": key, "title": title, "unit": "%", "ratio": [numerator, denominator]}


def heading(key: str, title: str) -> dict[str, Any]:
    return {"key": key, "title": title, "heading": True}


def manual(
    key: str,
    title: str,
    unit: str,
    kind: str = "int",
    *,
    sums: bool = True,
    required: bool = True,
    **limits: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": kind, "required": required, **limits}
    if sums:
        spec["rollup"] = "sum"
    row = {"key": key, "title": title, "manual": spec}
    if unit:
        row["unit"] = unit
    return row


TEMPLATES: list[dict[str, Any]] = [
    {
        "key": "community_basic",
        "title": "社区基本情况统计表",
        "number": "湘社区统1表",
        "periodicity": "quarterly",
        "receive_level": "county",
        "definition": {
            "columns": SEX_COLUMNS,
            "rows": [
                heading("h_people", "一、人口情况"),
                people("residents", "实有人口"),
                people("registered", "其中：户籍人口", residence="registered"),
                people("resident", "常住人口（人户分离）", residence="resident"),
                people("floating", "流动人口", residence="floating"),
                people("foreign", "境外人员", residence="foreign"),
                people("minors", "0–17岁未成年人", age="0-17"),
                people("elderly", "60岁及以上老年人", age="60+"),
                ratio("elderly_ratio", "老年人口占比", "elderly", "residents"),
                heading("h_places", "二、户、房屋与单位"),
                total("households", "家庭户数", HOUSEHOLDS, "户"),
                total("houses", "实有房屋", "registry.houses", "套"),
                total("rented", "其中：出租房屋", "registry.houses", "套", use="rented"),
                ratio("rented_ratio", "出租房屋占比", "rented", "houses"),
                total("organizations", "实有单位", "registry.organizations", "个"),
                total("key_places", "重点场所", "registry.key_places", "处"),
                heading("h_staff", "三、社区工作力量"),
                manual("staff", "社区工作者人数", "人", min=0, max=500),
                manual("grid_workers", "专职网格员人数", "人", min=0, max=500),
                manual("office_area", "办公和服务用房面积", "平方米", "decimal", min=0, max=100000),
            ],
        },
    },
    {
        "key": "elderly",
        "title": "老年人口统计表",
        "number": "湘社区统2表",
        "periodicity": "quarterly",
        "receive_level": "county",
        "definition": {
            "columns": SEX_COLUMNS,
            "rows": [
                people("residents", "实有人口"),
                people("elderly", "60岁及以上老年人", age="60+"),
                people("age_60_69", "其中：60–69岁", age="60-69"),
                people("age_70_79", "70–79岁", age="70-79"),
                people("age_80", "80岁及以上", age="80+"),
                people("age_90", "其中：90岁及以上", age="90+"),
                people("age_100", "100岁及以上", age="100+"),
                ratio("elderly_ratio", "老龄化率", "elderly", "residents"),
                heading("h_care", "二、关爱对象"),
                people("living_alone", "独居老人", tag="living_alone"),
                people("empty_nest", "空巢老人", tag="empty_nest"),
                people("disabled_elderly", "失能老人", tag="disabled_elderly"),
                total("visits_alone", "走访独居老人次数", VISITS, "次", tag="living_alone"),
                heading("h_services", "三、养老服务"),
                manual("care_facilities", "社区养老服务设施数", "个", min=0, max=100),
                manual("meal_points", "老年助餐点数", "个", min=0, max=100),
                manual("home_care_visits", "居家养老上门服务人次", "人次", min=0, max=100000),
            ],
        },
    },
    {
        "key": "disabled",
        "title": "残疾人基本情况统计表",
        "number": "湘社区统3表",
        "periodicity": "quarterly",
        "receive_level": "county",
        "definition": {
            "columns": SEX_COLUMNS,
            "rows": [
                people("residents", "实有人口"),
                people("disabled", "持证残疾人", tag="disabled"),
                ratio("disabled_ratio", "残疾人占实有人口比例", "disabled", "residents"),
                heading("h_kind", "按残疾类别"),
                people("visual", "视力残疾", disability_type="visual"),
                people("hearing", "听力残疾", disability_type="hearing"),
                people("speech", "言语残疾", disability_type="speech"),
                people("physical", "肢体残疾", disability_type="physical"),
                people("intellectual", "智力残疾", disability_type="intellectual"),
                people("mental", "精神残疾", disability_type="mental"),
                people("multiple", "多重残疾", disability_type="multiple"),
                heading("h_grade", "按残疾等级"),
                people("grade_1", "一级", disability_grade="1"),
                people("grade_2", "二级", disability_grade="2"),
                people("grade_3", "三级", disability_grade="3"),
                people("grade_4", "四级", disability_grade="4"),
                heading("h_services", "康复与服务"),
                manual("rehab_stations", "残疾人之家（康复站）数", "个", min=0, max=50),
                manual("rehab_services", "本季度康复服务人次", "人次", min=0, max=100000),
            ],
        },
    },
    {
        "key": "floating_rental",
        "title": "流动人口与出租房屋统计表",
        "number": "湘社区统4表",
        "periodicity": "monthly",
        "receive_level": "county",
        "definition": {
            "columns": SEX_COLUMNS,
            "rows": [
                people("residents", "实有人口"),
                people("floating", "流动人口", residence="floating"),
                people("floating_working", "其中：18–59岁", residence="floating", age="18-59"),
                people("floating_minors", "0–17岁", residence="floating", age="0-17"),
                ratio("floating_ratio", "流动人口占比", "floating", "residents"),
                people("foreign", "境外人员", residence="foreign"),
                heading("h_rental", "出租房屋"),
                total("houses", "实有房屋", "registry.houses", "套"),
                total("rented", "出租房屋", "registry.houses", "套", use="rented"),
                ratio("rented_ratio", "出租房屋占比", "rented", "houses"),
                total("rental_clusters", "出租屋集中区", "registry.key_places", "处", kind="rental_cluster"),
                manual("rental_checks", "本月检查出租房屋户次", "户次", min=0, max=10000),
                manual("security_pledges", "本月签订治安责任书份数", "份", min=0, max=10000),
            ],
        },
    },
    {
        "key": "grid_tickets",
        "title": "网格事件办理情况统计表",
        "number": "湘社区统5表",
        "periodicity": "monthly",
        "receive_level": "county",
        "definition": {
            "columns": [
                {"key": "total", "title": "合计"},
                {"key": "resident", "title": "居民上报", "filters": {"source": "resident"}},
                {"key": "patrol", "title": "网格巡查", "filters": {"source": "patrol"}},
                {"key": "hotline", "title": "12345热线", "filters": {"source": "hotline"}},
                {"key": "sensor", "title": "物联感知", "filters": {"source": "sensor"}},
            ],
            "rows": [
                stat("submitted", "受理事件", "grid.tickets", "件"),
                stat("closed", "办结事件", "grid.tickets_closed", "件"),
                ratio("closed_ratio", "办结率", "closed", "submitted"),
                stat("open", "在办事件", "grid.tickets_open", "件"),
                stat("overdue", "超期未办结", "grid.tickets_overdue", "件"),
                stat("resolve_due", "应按期办结", "grid.tickets_resolve_due", "件"),
                stat("resolve_on_time", "按期办结", "grid.tickets_resolve_on_time", "件"),
                ratio("on_time_ratio", "按期办结率", "resolve_on_time", "resolve_due"),
                stat("rated", "评价件数", "grid.tickets_rated", "件"),
                stat("good", "满意件数", "grid.tickets_good", "件"),
                ratio("satisfaction", "群众满意率", "good", "rated"),
                heading("h_category", "按事件类别（受理）"),
                total("cat_livelihood", "民生服务", "grid.tickets", "件", category="livelihood"),
                total("cat_dispute", "矛盾纠纷", "grid.tickets", "件", category="dispute"),
                total("cat_security", "治安防控", "grid.tickets", "件", category="security"),
                total("cat_safety", "安全隐患", "grid.tickets", "件", category="safety"),
                total("cat_environment", "环境卫生", "grid.tickets", "件", category="environment"),
                total("cat_special", "特殊人群服务管理", "grid.tickets", "件", category="special"),
                heading("h_work", "网格工作"),
                manual("patrols", "网格员巡查次数", "次", min=0, max=100000),
                manual("grid_meetings", "召开网格议事会次数", "次", min=0, max=1000, required=False),
            ],
        },
    },
    {
        "key": "govservice",
        "title": "政务服务事项办理情况统计表",
        "number": "湘社区统6表",
        "periodicity": "monthly",
        "receive_level": "county",
        "definition": {
            "columns": [
                {"key": "total", "title": "合计"},
                {"key": "entrusted", "title": "委托受理", "filters": {"mode": "entrusted"}},
                {"key": "authorized", "title": "授权办理", "filters": {"mode": "authorized"}},
                {"key": "assisted", "title": "帮办代办", "filters": {"mode": "assisted"}},
            ],
            "rows": [
                stat("received", "受理件数", "govservice.applications", "件"),
                stat("closed", "办结件数", "govservice.applications_closed", "件"),
                stat("on_time", "按时办结件数", "govservice.applications_on_time", "件"),
                ratio("on_time_ratio", "按时办结率", "on_time", "closed"),
                stat("open", "在办件数", "govservice.applications_open", "件"),
                stat("overdue", "超期件数", "govservice.applications_overdue", "件"),
                stat("on_behalf", "工作人员代为申请件数", "govservice.applications_on_behalf", "件"),
                heading("h_channel", "按受理渠道（合计）"),
                total("online", "网上申请", "govservice.applications", "件", channel="online"),
                total("counter", "窗口受理", "govservice.applications", "件", channel="counter"),
                total("home", "上门服务", "govservice.applications", "件", channel="home"),
                total("kiosk", "自助终端", "govservice.applications", "件", channel="kiosk"),
                manual("windows", "便民服务窗口数", "个", min=0, max=50),
                manual("staff_on_duty", "坐班工作人员数", "人", min=0, max=200),
            ],
        },
    },
    {
        "key": "ratings",
        "title": "好差评情况统计表",
        "number": "湘社区统7表",
        "periodicity": "monthly",
        "receive_level": "county",
        "definition": {
            "columns": [
                {"key": "total", "title": "合计"},
                {"key": "counter", "title": "窗口", "filters": {"channel": "counter"}},
                {"key": "online", "title": "网上", "filters": {"channel": "online"}},
                {"key": "home", "title": "上门", "filters": {"channel": "home"}},
                {"key": "kiosk", "title": "自助终端", "filters": {"channel": "kiosk"}},
            ],
            "rows": [
                stat("ratings", "评价总数", "govservice.ratings", "件"),
                stat("very_satisfied", "非常满意", "govservice.ratings", "件", stars="5"),
                stat("satisfied", "满意", "govservice.ratings", "件", stars="4"),
                stat("basic", "基本满意", "govservice.ratings", "件", stars="3"),
                stat("unsatisfied", "不满意", "govservice.ratings", "件", stars="2"),
                stat("very_unsatisfied", "非常不满意", "govservice.ratings", "件", stars="1"),
                stat("good", "好评数", "govservice.ratings_good", "件"),
                stat("bad", "差评数", "govservice.ratings_bad", "件"),
                ratio("good_ratio", "好评率", "good", "ratings"),
                manual("rectified", "差评整改完成件数", "件", min=0, max=10000),
                manual("callbacks", "差评回访件数", "件", min=0, max=10000),
            ],
        },
    },
    {
        "key": "key_groups",
        "title": "重点人群服务管理情况统计表",
        "number": "湘社区统8表",
        "periodicity": "quarterly",
        "receive_level": "county",
        "definition": {
            "columns": SEX_COLUMNS,
            "rows": [
                heading("h_count", "一、在册人数"),
                people("correction", "社区矫正对象", tag="community_correction"),
                people("released", "刑满释放人员", tag="released_prisoner"),
                people("drug", "吸毒人员", tag="drug_user"),
                people("mental", "严重精神障碍患者", tag="severe_mental_disorder"),
                people("youth", "重点青少年", tag="key_youth"),
                people("left_behind", "留守儿童", tag="left_behind_child"),
                people("difficulty", "困境儿童", tag="child_in_difficulty"),
                people("minors", "0–17岁未成年人", age="0-17"),
                ratio("left_behind_ratio", "留守儿童占未成年人比例", "left_behind", "minors"),
                heading("h_visits", "二、走访次数"),
                total("v_correction", "走访社区矫正对象", VISITS, "次", tag="community_correction"),
                total("v_released", "走访刑满释放人员", VISITS, "次", tag="released_prisoner"),
                total("v_drug", "走访吸毒人员", VISITS, "次", tag="drug_user"),
                total("v_mental", "走访严重精神障碍患者", VISITS, "次", tag="severe_mental_disorder"),
                total("v_youth", "走访重点青少年", VISITS, "次", tag="key_youth"),
                total("v_left_behind", "走访留守儿童", VISITS, "次", tag="left_behind_child"),
                heading("h_work", "三、帮教与服务"),
                manual("help_sessions", "开展帮教活动次数", "次", min=0, max=1000),
                manual("helpers", "帮教志愿者人数", "人", min=0, max=1000),
            ],
        },
    },
    {
        "key": "social_assistance",
        "title": "低保、特困等社会救助对象统计表",
        "number": "湘社区统9表",
        "periodicity": "monthly",
        "receive_level": "county",
        "definition": {
            "columns": SEX_COLUMNS,
            "rows": [
                people("residents", "实有人口"),
                people("low_income", "低保对象", tag="low_income"),
                ratio("low_income_ratio", "低保对象占实有人口比例", "low_income", "residents"),
                total("low_income_households", "低保户数", HOUSEHOLDS, "户", tag="low_income"),
                people("extreme_poverty", "特困人员", tag="extreme_poverty"),
                total("extreme_households", "特困供养户数", HOUSEHOLDS, "户", tag="extreme_poverty"),
                people("orphans", "孤儿", tag="orphan"),
                people("children_difficulty", "困境儿童", tag="child_in_difficulty"),
                people("unemployed", "失业人员", tag="unemployed"),
                heading("h_paid", "本月救助资金"),
                manual("low_income_paid", "发放低保金", "元", "decimal", min=0, max=100000000),
                manual("extreme_paid", "发放特困供养金", "元", "decimal", min=0, max=100000000),
                manual("temporary_aid", "临时救助人次", "人次", min=0, max=100000),
            ],
        },
    },
    {
        "key": "veterans",
        "title": "退役军人服务管理情况统计表",
        "number": "湘社区统10表",
        "periodicity": "quarterly",
        "receive_level": "county",
        "definition": {
            "columns": SEX_COLUMNS,
            "rows": [
                people("veterans", "退役军人", tag="veteran"),
                people("veterans_60", "其中：60岁及以上", tag="veteran", age="60+"),
                ratio("veterans_60_ratio", "60岁及以上占比", "veterans_60", "veterans"),
                total("veteran_households", "退役军人家庭户数", HOUSEHOLDS, "户", tag="veteran"),
                total("visits", "走访慰问退役军人次数", VISITS, "次", tag="veteran"),
                total(
                    "applications", "退役军人事务办件数", "govservice.applications", "件", domain="veterans"
                ),
                heading("h_station", "服务站建设"),
                {
                    "key": "station",
                    "title": "退役军人服务站是否建成",
                    "manual": {"type": "choice", "options": ["是", "否"], "required": True},
                },
                manual("honour_plaques", "悬挂光荣牌户数", "户", min=0, max=10000),
            ],
        },
    },
    {
        "key": "iot_alerts",
        "title": "物联感知告警处置情况统计表",
        "number": "湘社区统11表",
        "periodicity": "monthly",
        "receive_level": "county",
        "definition": {
            "columns": [
                {"key": "total", "title": "合计"},
                {"key": "critical", "title": "紧急", "filters": {"severity": "4"}},
                {"key": "major", "title": "重要", "filters": {"severity": "3"}},
                {"key": "warning", "title": "一般", "filters": {"severity": "2"}},
                {"key": "info", "title": "提示", "filters": {"severity": "1"}},
            ],
            "rows": [
                stat("raised", "告警数", "iot.alerts", "条"),
                stat("acknowledged", "已确认", "iot.alerts_acknowledged", "条"),
                stat("cleared", "已处置", "iot.alerts_cleared", "条"),
                stat("open", "未处置", "iot.alerts_open", "条"),
                ratio("cleared_ratio", "处置率", "cleared", "raised"),
                manual("devices", "接入感知设备数", "台", min=0, max=100000),
                manual("drills", "本月应急演练次数", "次", min=0, max=100, required=False),
            ],
        },
    },
]
