"""The start set of the category tree and the 2026 holiday calendar (shequ/grid/catalog.py).

The data is copied here, not imported, so that this migration keeps loading what it loaded on the
day it was written whatever later happens to catalog.py."""

import datetime as dt

from django.db import migrations

MAIN_TYPES = [
    ("livelihood", "Livelihood services", "民生服务", "", 24, 10, ""),
    ("dispute", "Disputes", "矛盾纠纷", "justice", 24, 15, ""),
    ("security", "Public security", "治安防控", "police", 12, 10, ""),
    ("safety", "Safety hazards", "安全隐患", "emergency", 2, 3, ""),
    ("environment", "Environment and sanitation", "环境卫生", "urban", 24, 5, ""),
    ("cityscape", "City appearance", "市容市貌", "urban", 24, 7, ""),
    ("special", "Special groups", "特殊人群服务管理", "civil", 24, 10, ""),
    ("opinion", "Public opinion", "社情民意", "", 24, 10, ""),
    ("incident", "Emergencies", "突发事件", "emergency", 1, 1, ""),
    ("other", "Other", "其他", "", 24, 10, ""),
]
LEAVES = [
    ('livelihood', ('livelihood.education', 'School enrolment and education', '教育入学', 'education', 24, 10, '入学 学位 学校 幼儿园 转学')),
    ('livelihood', ('livelihood.social_security', 'Social and medical insurance', '社保医保', 'hrss', 24, 10, '社保 医保 养老保险 缴费 报销')),
    ('livelihood', ('livelihood.employment', 'Employment', '就业创业', 'hrss', 24, 10, '就业 招聘 培训 失业 创业')),
    ('livelihood', ('livelihood.medical', 'Medical care', '医疗卫生', 'health', 24, 10, '看病 卫生服务中心 疫苗 体检')),
    ('livelihood', ('livelihood.housing', 'Housing security', '住房保障', 'housing', 24, 15, '公租房 廉租房 住房补贴 老旧小区改造')),
    ('livelihood', ('livelihood.transport', 'Transport', '交通出行', 'transport', 24, 10, '公交 站点 红绿灯 道路')),
    ('livelihood', ('livelihood.documents', 'Documents and certificates', '证件办理', 'police', 24, 5, '身份证 户口 居住证 证明')),
    ('livelihood', ('livelihood.assistance', 'Social assistance', '社会救助', 'civil', 24, 10, '低保 特困 救助 临时救助')),
    ('livelihood', ('livelihood.elderly', 'Elderly care', '养老服务', 'civil', 24, 10, '老人 养老 助餐 居家养老 高龄补贴')),
    ('livelihood', ('livelihood.water', 'Water supply', '供水', 'water', 12, 3, '停水 水压 水管 漏水 水质')),
    ('livelihood', ('livelihood.power', 'Power supply', '供电', 'power', 12, 3, '停电 电压 电表 跳闸')),
    ('livelihood', ('livelihood.gas_supply', 'Gas supply service', '供气', 'gas', 12, 3, '燃气开户 停气 燃气费')),
    ('dispute', ('dispute.family', 'Family disputes', '婚姻家庭纠纷', 'justice', 24, 15, '夫妻 离婚 赡养 家暴')),
    ('dispute', ('dispute.neighbour', 'Neighbour disputes', '邻里纠纷', 'justice', 24, 10, '邻居 楼上 漏水 占用 楼道')),
    ('dispute', ('dispute.property_mgmt', 'Property management disputes', '物业纠纷', 'property', 24, 10, '物业 物业费 电梯 保安')),
    ('dispute', ('dispute.labour', 'Labour disputes', '劳资纠纷', 'hrss', 24, 15, '工资 欠薪 讨薪 劳动合同')),
    ('dispute', ('dispute.land', 'Land disputes', '土地纠纷', 'land', 24, 15, '宅基地 土地 承包 界址')),
    ('dispute', ('dispute.demolition', 'Expropriation and demolition disputes', '征地拆迁纠纷', 'housing', 24, 15, '拆迁 征收 补偿 安置')),
    ('dispute', ('dispute.medical', 'Medical disputes', '医疗纠纷', 'health', 24, 15, '医院 医疗事故 误诊')),
    ('dispute', ('dispute.consumer', 'Consumer disputes', '消费纠纷', 'market', 24, 10, '退款 商家 预付卡 假货')),
    ('security', ('security.physical', 'Physical defence', '人防物防', 'police', 12, 10, '巡逻 门禁 围墙 防盗')),
    ('security', ('security.technical', 'Technical defence', '技防设施', 'police', 24, 10, '监控 摄像头 门禁系统')),
    ('security', ('security.crime_clue', 'Crime clues', '违法犯罪线索', 'police', 2, 5, '赌博 吸毒 盗窃 传销')),
    ('security', ('security.public_order', 'Public order risks', '治安隐患', 'police', 12, 5, '打架 聚集 醉酒 滋事')),
    ('security', ('security.fraud', 'Telecom fraud', '电信诈骗', 'police', 2, 5, '诈骗 电话 转账 刷单')),
    ('safety', ('safety.fire', 'Fire hazards', '消防隐患', 'fire', 2, 3, '消防通道 灭火器 电动车 充电 堵塞')),
    ('safety', ('safety.gas', 'Gas hazards', '燃气隐患', 'gas', 2, 1, '燃气泄漏 煤气 气味 软管')),
    ('safety', ('safety.electrical', 'Electrical hazards', '用电隐患', 'power', 2, 3, '电线 私拉乱接 漏电 配电箱')),
    ('safety', ('safety.building', 'Building safety', '房屋安全', 'housing', 2, 5, '裂缝 危房 墙体 脱落')),
    ('safety', ('safety.hazardous', 'Hazardous goods', '危化品', 'emergency', 2, 3, '危化品 液化气 油库 化学品')),
    ('safety', ('safety.food', 'Food safety', '食品安全', 'market', 4, 5, '过期 食品 餐馆 卫生许可')),
    ('environment', ('environment.garbage', 'Garbage collection', '垃圾清运', 'urban', 24, 3, '垃圾 清运 垃圾桶 分类')),
    ('environment', ('environment.sewage', 'Sewage', '污水排放', 'environ', 24, 5, '污水 下水道 化粪池 堵塞')),
    ('environment', ('environment.noise', 'Noise', '噪音扰民', 'environ', 12, 3, '噪音 施工 广场舞 夜间')),
    ('environment', ('environment.pollution', 'Air pollution and fumes', '大气污染', 'environ', 24, 5, '油烟 焚烧 粉尘 异味')),
    ('environment', ('environment.greening', 'Greening', '绿化养护', 'urban', 24, 7, '树木 绿化带 修剪 倒伏')),
    ('cityscape', ('cityscape.illegal_building', 'Illegal construction', '违章搭建', 'urban', 24, 10, '违建 搭建 加层 雨棚')),
    ('cityscape', ('cityscape.street_order', 'Street vending and occupation', '占道经营', 'urban', 24, 3, '摆摊 占道 流动摊贩')),
    ('cityscape', ('cityscape.ads', 'Illegal advertising', '乱贴广告', 'urban', 24, 3, '小广告 牛皮癣 横幅 招牌')),
    ('cityscape', ('cityscape.parking', 'Illegal parking', '违规停车', 'urban', 12, 2, '停车 占用车位 僵尸车 共享单车')),
    ('cityscape', ('cityscape.facilities', 'Damaged public facilities', '市政设施损坏', 'urban', 24, 5, '路灯 井盖 路面 破损')),
    ('special', ('special.care', 'Care and assistance', '关爱帮扶', 'civil', 24, 10, '独居老人 残疾 留守儿童 困难')),
    ('special', ('special.correction', 'Community correction', '社区矫正', 'justice', 12, 5, '矫正 刑满释放 帮教')),
    ('special', ('special.mental', 'Mental health', '精神障碍患者管理', 'health', 4, 3, '精神 发病 肇事 监护')),
    ('opinion', ('opinion.suggestion', 'Suggestions', '意见建议', '', 24, 10, '建议 希望 增设 改进')),
    ('opinion', ('opinion.complaint', 'Complaints about service', '服务投诉', '', 24, 10, '态度 不作为 投诉 办事')),
    ('incident', ('incident.disaster', 'Natural disasters', '自然灾害', 'emergency', 1, 1, '暴雨 内涝 山体滑坡 塌方')),
    ('incident', ('incident.accident', 'Accidents', '安全事故', 'emergency', 1, 1, '事故 坍塌 火灾 受伤')),
    ('incident', ('incident.public_health', 'Public health events', '公共卫生事件', 'health', 1, 2, '疫情 中毒 传染')),
    ('other', ('other.other', 'Other matters', '其他事项', '', 24, 10, '')),
]
HOLIDAYS = [
    ('2026-01-01', '元旦', False),
    ('2026-01-02', '元旦', False),
    ('2026-01-04', '元旦调休', True),
    ('2026-02-14', '春节调休', True),
    ('2026-02-16', '春节', False),
    ('2026-02-17', '春节', False),
    ('2026-02-18', '春节', False),
    ('2026-02-19', '春节', False),
    ('2026-02-20', '春节', False),
    ('2026-02-23', '春节', False),
    ('2026-02-28', '春节调休', True),
    ('2026-04-06', '清明节', False),
    ('2026-05-01', '劳动节', False),
    ('2026-05-04', '劳动节', False),
    ('2026-05-05', '劳动节', False),
    ('2026-05-09', '劳动节调休', True),
    ('2026-06-19', '端午节', False),
    ('2026-09-20', '国庆节调休', True),
    ('2026-09-25', '中秋节', False),
    ('2026-10-01', '国庆节', False),
    ('2026-10-02', '国庆节', False),
    ('2026-10-05', '国庆节', False),
    ('2026-10-06', '国庆节', False),
    ('2026-10-07', '国庆节', False),
    ('2026-10-10', '国庆节调休', True),
]


def seed(apps, schema_editor):
    Category = apps.get_model("grid", "Category")
    Holiday = apps.get_model("grid", "Holiday")
    parents = {}
    for order, (code, name, name_zh, kind, response, resolution, keywords) in enumerate(MAIN_TYPES, start=1):
        parents[code], _ = Category.objects.update_or_create(
            code=code,
            defaults={
                "parent": None,
                "name": name,
                "name_zh": name_zh,
                "department_kind": kind,
                "response_hours": response,
                "resolution_days": resolution,
                "keywords": keywords,
                "sort_order": order * 100,
            },
        )
    for order, (parent, (code, name, name_zh, kind, response, resolution, keywords)) in enumerate(LEAVES, start=1):
        Category.objects.update_or_create(
            code=code,
            defaults={
                "parent": parents[parent],
                "name": name,
                "name_zh": name_zh,
                "department_kind": kind,
                "response_hours": response,
                "resolution_days": resolution,
                "keywords": keywords,
                "sort_order": parents[parent].sort_order + order,
            },
        )
    for day, name, is_workday in HOLIDAYS:
        Holiday.objects.update_or_create(
            date=dt.date.fromisoformat(day), defaults={"name": name, "is_workday": is_workday}
        )


def unseed(apps, schema_editor):
    apps.get_model("grid", "Category").objects.filter(parent__isnull=False).delete()
    apps.get_model("grid", "Category").objects.all().delete()
    apps.get_model("grid", "Holiday").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("grid", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
